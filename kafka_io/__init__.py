"""kafka_io: eventlake's Kafka side, on top of the contract (eventlake/): every client's config,
Kafka's true end offsets, and the producer library services send events with."""
