"""cotdistill's orchestration: recipes, the row schema, the shard store, stages and where they run.

Arrows point one way: ``cli -> executors -> runner -> stages -> (store, backends, verifiers)``;
``errors``, ``recipe``, ``rows`` and ``progress`` are leaves.
"""
