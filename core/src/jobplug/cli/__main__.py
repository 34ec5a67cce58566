from jobplug.cli import main

main()
