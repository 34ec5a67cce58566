// A gocraft/work peer for the interoperability test (tests/test_gocraft_interop.py):
//
//	peer NAMESPACE enqueue|work|client
//
// Build it against github.com/gocraft/work and point JOBPLUG_GOCRAFT_PEER at the binary.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
)

type Ctx struct{}

func main() {
	ns := os.Args[1]
	mode := os.Args[2]
	pool := &redis.Pool{MaxActive: 10, MaxIdle: 10, Wait: true,
		Dial: func() (redis.Conn, error) { return redis.Dial("tcp", "127.0.0.1:6379") }}
	switch mode {
	case "enqueue":
		e := work.NewEnqueuer(ns, pool)
		for i := 0; i < 5; i++ {
			if _, err := e.Enqueue("py_job", work.Q{"i": i, "s": "<go&>"}); err != nil {
				panic(err)
			}
		}
		if _, err := e.EnqueueUnique("py_unique", work.Q{"k": "v"}); err != nil {
			panic(err)
		}
		if _, err := e.EnqueueIn("py_job", 1, work.Q{"i": 100, "s": "later"}); err != nil {
			panic(err)
		}
	case "work":
		wp := work.NewWorkerPool(Ctx{}, 4, ns, pool)
		wp.Job("go_job", func(j *work.Job) error {
			b, _ := json.Marshal(j.Args)
			fmt.Printf("RAN %s %s\n", j.ID, b)
			return nil
		})
		wp.JobWithOptions("go_fail", work.JobOptions{MaxFails: 1}, func(j *work.Job) error {
			return fmt.Errorf("go says no")
		})
		wp.Start()
		time.Sleep(4 * time.Second)
		wp.Stop()
	case "hang":
		wp := work.NewWorkerPool(Ctx{}, 2, ns, pool)
		wp.Job("go_hang", func(j *work.Job) error {
			fmt.Printf("STARTED %s\n", j.ID)
			os.Stdout.Sync()
			time.Sleep(time.Hour)
			return nil
		})
		wp.Start()
		time.Sleep(time.Hour)
	case "rescue":
		wp := work.NewWorkerPool(Ctx{}, 2, ns, pool)
		wp.Job("slow", func(j *work.Job) error {
			b, _ := json.Marshal(j.Args)
			fmt.Printf("RAN %s %s\n", j.ID, b)
			os.Stdout.Sync()
			return nil
		})
		wp.Start()
		time.Sleep(time.Hour)
	case "client":
		c := work.NewClient(ns, pool)
		hb, err := c.WorkerPoolHeartbeats()
		if err != nil {
			panic(err)
		}
		b, _ := json.Marshal(hb)
		fmt.Printf("POOLS %s\n", b)
		obs, err := c.WorkerObservations()
		if err != nil {
			panic(err)
		}
		b, _ = json.Marshal(obs)
		fmt.Printf("OBS %s\n", b)
		q, err := c.Queues()
		if err != nil {
			panic(err)
		}
		b, _ = json.Marshal(q)
		fmt.Printf("QUEUES %s\n", b)
		d, n, err := c.DeadJobs(1)
		if err != nil {
			panic(err)
		}
		b, _ = json.Marshal(d)
		fmt.Printf("DEAD %d %s\n", n, b)
		r, n, err := c.RetryJobs(1)
		if err != nil {
			panic(err)
		}
		b, _ = json.Marshal(r)
		fmt.Printf("RETRY %d %s\n", n, b)
	}
}
