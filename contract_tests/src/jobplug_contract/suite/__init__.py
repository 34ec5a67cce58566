"""The conformance suite: one mixin per part of the contract, aggregated in
:class:`~jobplug_contract.AdapterContract`."""
