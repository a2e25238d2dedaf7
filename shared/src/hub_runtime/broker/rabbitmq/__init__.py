"""RabbitMQ adapter of the broker port (pika `BlockingConnection`).

Layout on one connection (`connection.py`), shared by the parts `RabbitMQBroker` (`broker.py`) delegates to:

- a publish channel in confirm mode, for `publish` (one message, its confirm awaited) (`publisher.py`);
- a batch channel in confirm mode, for `publish_batch` (the outbox relay): every message of a batch is
  written, then the broker's confirms are awaited once for the whole batch (RabbitMQ acks several delivery
  tags in one frame), instead of one round trip per message (`publisher.py`);
- one consumer channel per queue read with `get` (prefetch 1, a `channel.consume` generator kept between
  calls). pika allows only one consume generator per channel, and cancelling a generator to switch queues
  would return its prefetched message and count it as a delivery, so each queue keeps its own channel
  (`consumer.py`);
- short-lived channels for declare/depth/purge/dead-letter work, so a broker-side channel error there
  (404, 406) does not take deliveries held on the other channels with it (`admin.py`).

Any connection or channel failure drops the whole connection; the next call reopens it (with backoff, for
up to `reconnect_timeout`) and increments the generation, which makes acks of older deliveries raise
`DeliveryLost`. pika connections are not thread-safe: every public method holds an `RLock`; waits are cut
into short slices so that other threads get their turn.
"""

from .broker import RabbitMQBroker

__all__ = ["RabbitMQBroker"]
