"""HTTP delivery of wrap-up codes to the contact-center platform (see :mod:`.dispatcher`)."""

from streams.delivery.dispatcher import ApiError, DeliveryJob, Dispatcher

__all__ = ["ApiError", "DeliveryJob", "Dispatcher"]
