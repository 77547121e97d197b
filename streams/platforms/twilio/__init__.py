"""The twilio dialect: Flex / TaskRouter tasks, completed with the wrap-up code as reason.

Events (:mod:`.records`, :mod:`.events`): TaskRouter event callbacks or Event Streams
CloudEvents on the bridge topic, keyed by task SID; a task is one worker's leg.
API (:mod:`.api`, :mod:`.auth`): ``POST .../Workspaces/{WS}/Tasks/{WT}`` with
``AssignmentStatus=completed&Reason=<code>``, read back with ``GET`` on the same task,
HTTP Basic with an API key or the auth token. Settings: :mod:`.settings`.
"""

from __future__ import annotations

from streams.config import Settings
from streams.platforms.base import Platform
from streams.platforms.twilio.api import TaskRouterApi, task_view
from streams.platforms.twilio.auth import TwilioBasicAuth
from streams.platforms.twilio.events import TwilioEvents
from streams.platforms.twilio.settings import TASKROUTER, TwilioSettings, read

__all__ = ["TASKROUTER", "TaskRouterApi", "TwilioBasicAuth", "TwilioEvents",
           "TwilioSettings", "build", "task_view"]


def build(settings: Settings) -> Platform:
    """The twilio platform from the ``WRAPUP_TWILIO_*`` settings."""
    twilio = read(settings.platform_env)
    return Platform("twilio", TwilioEvents(twilio.queue_field, twilio.campaign_path),
                    TaskRouterApi(twilio))
