"""Consuming: the consumer loop, its subscription, rebalances, `--until-idle`, the batch being filled, and the consumer config."""
