"""The simulator's roles as separate processes on a distributed store (etcd).

``board`` keeps the plan board in the store, ``recorder`` writes what a process observed,
``roles`` runs the planner (with the clients and the operator) or one enactor in real time,
``cluster`` starts them all, injects the scenario's faults with signals and merges what they
observed into the same report as an embedded run.
"""
