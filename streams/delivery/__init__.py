"""HTTP delivery of wrap-up codes to the contact-center platform (see :mod:`.dispatcher`)."""

from streams.delivery.dispatcher import ApiError, Dispatcher
from streams.delivery.job import DeliveryJob

__all__ = ["ApiError", "DeliveryJob", "Dispatcher"]
