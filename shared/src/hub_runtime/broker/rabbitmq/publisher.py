"""Publishing with publisher confirms: one message at a time, or a batch with one wait for its confirms."""

from __future__ import annotations

from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from ..base import BrokerError, BrokerUnavailable
from .connection import Connection


class _Confirms:
    """The confirm state of the batch channel: delivery tags of this channel not yet acked or nacked,
    fed by pika's callbacks while `_flush_output` runs the I/O loop."""

    def __init__(self, channel: BlockingChannel):
        self.channel = channel
        self.last_tag = 0
        self.unsettled: dict[int, int] = {}  # delivery tag -> index in the current batch
        self.nacked: set[int] = set()  # indexes
        self.returned: set[str | None] = set()  # message ids returned as unroutable

    def on_confirm(self, frame) -> None:
        method = frame.method
        if method.multiple:
            tags = [tag for tag in self.unsettled if tag <= method.delivery_tag]
        else:
            tags = [method.delivery_tag]
        nack = isinstance(method, pika.spec.Basic.Nack)
        for tag in tags:
            index = self.unsettled.pop(tag, None)
            if nack and index is not None:
                self.nacked.add(index)

    def on_return(self, _channel, _method, properties, _body) -> None:
        self.returned.add(properties.message_id)


class Publisher:
    """Two channels in confirm mode: one for `publish` (opened with the connection), one for
    `publish_batch` (opened on first use)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._channel: BlockingChannel | None = None
        self._confirms: _Confirms | None = None
        connection.add_hooks(opened=self._opened, dropped=self._dropped)

    def _opened(self, conn: pika.BlockingConnection) -> None:
        channel = conn.channel()
        channel.confirm_delivery()
        self._channel = channel

    def _dropped(self) -> None:
        self._channel, self._confirms = None, None

    def publish(self, queue: str, body: bytes, message_id: str | None = None,
                headers: dict[str, Any] | None = None) -> None:
        properties = pika.BasicProperties(delivery_mode=2, message_id=message_id, headers=headers or None)

        def send() -> None:
            assert self._channel is not None
            try:
                self._channel.basic_publish("", queue, body, properties, mandatory=True)
            except pika.exceptions.UnroutableError as exc:
                raise BrokerUnavailable(f"publish to {queue!r}: no such queue (not declared yet?)") from exc
            except pika.exceptions.NackError as exc:
                raise BrokerUnavailable(f"publish to {queue!r}: the broker refused the message") from exc

        with self._connection.lock:
            self._connection.with_retry(f"publish to {queue}", send)

    def publish_batch(self, queue: str, messages: list[tuple[bytes, str | None]]
                      ) -> tuple[list[int], BrokerError | None]:
        """Publish `(body, message_id)` messages to `queue` (persistent, mandatory), waiting for the
        broker's confirms once for the whole batch. Returns the indexes of the messages the broker
        confirmed (acked, not returned as unroutable), in order, and the error that stopped the rest, if
        any. After a lost connection the unconfirmed messages are published again on a new one (within
        `reconnect_timeout`); a message may then reach the queue twice (at-least-once)."""
        confirmed: set[int] = set()
        error: BrokerError | None = None

        def send() -> None:
            pending = [i for i in range(len(messages)) if i not in confirmed]
            confirms = self._confirm_channel()
            confirms.nacked.clear()
            confirms.returned.clear()
            impl = confirms.channel._impl  # pika's BlockingChannel confirms each publish: use its channel
            for index in pending:
                body, message_id = messages[index]
                impl.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2, message_id=message_id),
                                   mandatory=True)
                confirms.last_tag += 1
                confirms.unsettled[confirms.last_tag] = index
            confirms.channel._flush_output(lambda: not confirms.unsettled)
            for index in pending:
                if index not in confirms.nacked and messages[index][1] not in confirms.returned:
                    confirmed.add(index)
            if confirms.returned:
                raise BrokerError(f"publish to {queue!r}: no such queue (not declared yet?)")
            if confirms.nacked:
                raise BrokerError(f"publish to {queue!r}: the broker refused {len(confirms.nacked)} messages")

        with self._connection.lock:
            try:
                self._connection.with_retry(f"publish to {queue}", send)
            except BrokerError as exc:
                error = exc
        return sorted(confirmed), error

    def _confirm_channel(self) -> _Confirms:
        if self._confirms is None or not self._confirms.channel.is_open:
            channel = self._connection.ensure().channel()
            confirms = _Confirms(channel)
            selected: list[bool] = []
            channel._impl.confirm_delivery(ack_nack_callback=confirms.on_confirm,
                                           callback=lambda _frame: selected.append(True))
            channel._flush_output(lambda: bool(selected))
            channel._impl.add_on_return_callback(confirms.on_return)
            self._confirms = confirms
        return self._confirms
