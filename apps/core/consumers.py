"""The notifications websocket: one per signed-in browser tab."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.core.notifications import mark_read, unread_for, user_group_name

UNAUTHENTICATED_CLOSE_CODE = 4401


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED_CLOSE_CODE)
            return

        self.group_name = user_group_name(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_unread()

    async def disconnect(self, code):
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("action") != "mark_read":
            await self.send_json({"type": "error", "message": "unknown action"})
            return

        ids = content.get("ids")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
            await self.send_json({"type": "error", "message": "ids must be a list of integers"})
            return
        await database_sync_to_async(mark_read)(user=self.scope["user"], notification_ids=ids)
        await self.send_unread()

    async def send_unread(self):
        items, count = await database_sync_to_async(unread_for)(self.scope["user"])
        await self.send_json({"type": "unread", "items": items, "unread_count": count})

    async def notification_created(self, event):
        _, count = await database_sync_to_async(unread_for)(self.scope["user"], 0)
        await self.send_json(
            {"type": "notification", "notification": event["notification"], "unread_count": count}
        )
