"""The error hierarchy: one base, and a transient failure is never taken for a permanent one."""

from __future__ import annotations

import pytest

from hub_runtime.broker.base import BrokerError, BrokerUnavailable, DeliveryLost
from hub_runtime.errors import (
    HubError,
    IdempotencyConflict,
    PermanentError,
    TaskCancelled,
    TaskFailure,
    TaskInterrupted,
    TransientError,
)


@pytest.mark.parametrize("error", [PermanentError, TransientError, TaskCancelled, TaskInterrupted,
                                   IdempotencyConflict, BrokerError, BrokerUnavailable, DeliveryLost])
def test_every_hub_error_has_one_base(error):
    assert issubclass(error, HubError)


def test_transient_and_permanent_failures_are_siblings():
    assert not issubclass(TransientError, PermanentError)
    assert not issubclass(PermanentError, TransientError)
    with pytest.raises(TransientError):  # an `except PermanentError` lets a transient failure through
        try:
            raise TransientError("erp_timeout", "the page did not load")
        except PermanentError:
            pytest.fail("a transient failure was caught as a permanent one")


def test_a_failure_carries_its_reason():
    failure = PermanentError("worksheet_closed", "worksheet 7 is closed")
    assert isinstance(failure, TaskFailure)
    assert (failure.reason_code, failure.reason_text) == ("worksheet_closed", "worksheet 7 is closed")
    assert str(failure) == "worksheet_closed: worksheet 7 is closed"


@pytest.mark.parametrize("signal", [TaskCancelled, TaskInterrupted])
def test_a_handler_stopping_is_not_a_failure(signal):
    assert not issubclass(signal, TaskFailure)
