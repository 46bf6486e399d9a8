"""notify() persists, then pushes through the real Redis channel layer after the commit."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from apps.core.consumers import NotificationConsumer
from apps.core.demo import ensure_team
from apps.core.models import Notification
from apps.core.notifications import notify, user_group_name
from mlops_portal.asgi import application


def listen(group):
    """Join a fresh channel to `group` on the real layer; returns (layer, channel)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def receive(layer, channel, timeout=5):
    async def _receive():
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(_receive)()


@pytest.mark.django_db(transaction=True)
def test_notify_persists_and_pushes_to_the_users_group(data_scientist):
    layer, channel = listen(user_group_name(data_scientist.pk))

    notify(users=[data_scientist], title="Run finished", body="f1 0.91", level="success")

    stored = Notification.objects.get(recipient=data_scientist)
    assert stored.title == "Run finished"
    message = receive(layer, channel)
    assert message["type"] == "notification.created"
    assert message["notification"]["id"] == stored.pk


@pytest.mark.django_db(transaction=True)
def test_nothing_is_pushed_when_the_transaction_rolls_back(data_scientist):
    from django.db import transaction

    layer, channel = listen(user_group_name(data_scientist.pk))
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(users=[data_scientist], title="never")
        raise RuntimeError("rolled back")

    assert not Notification.objects.exists()
    with pytest.raises(asyncio.TimeoutError):
        receive(layer, channel, timeout=1)


@pytest.mark.django_db
def test_team_notifications_reach_each_member_once(data_scientist, reviewer):
    team = ensure_team("fraud")
    reviewer.groups.add(team.group)

    notify(users=[data_scientist], teams=[team.group], title="Policy changed")

    recipients = sorted(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == ["alice", "bob"]


@pytest.mark.django_db(transaction=True)
def test_a_notification_survives_when_redis_is_down(data_scientist, settings, caplog):
    from channels.layers import channel_layers
    from django.db import transaction

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends.clear()
    try:
        with transaction.atomic():
            notify(users=[data_scientist], title="Stored anyway")
    finally:
        channel_layers.backends.clear()

    assert Notification.objects.filter(title="Stored anyway").exists()
    assert "live push of notifications" in caplog.text


def websocket(user, origin=b"http://127.0.0.1"):
    communicator = WebsocketCommunicator(
        NotificationConsumer.as_asgi(),
        "/ws/notifications/",
        headers=[(b"origin", origin)],
    )
    communicator.scope["user"] = user
    return communicator


@pytest.mark.django_db(transaction=True)
def test_the_socket_refuses_anonymous_users():
    async def scenario():
        communicator = websocket(AnonymousUser())
        connected, code = await communicator.connect()
        return connected, code

    connected, code = async_to_sync(scenario)()
    assert connected is False
    assert code == 4401


@pytest.mark.django_db(transaction=True)
def test_the_socket_lists_unread_on_connect_and_pushes_new_ones(data_scientist):
    notify(users=[data_scientist], title="While you were away")

    async def scenario():
        communicator = websocket(data_scientist)
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_json_from(timeout=5)
        from channels.db import database_sync_to_async

        await database_sync_to_async(notify)(users=[data_scientist], title="Live one")
        second = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"action": "mark_read"})
        third = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return first, second, third

    first, second, third = async_to_sync(scenario)()
    assert first["type"] == "unread"
    assert [item["title"] for item in first["items"]] == ["While you were away"]
    assert second["type"] == "notification"
    assert second["notification"]["title"] == "Live one"
    assert second["unread_count"] == 2
    assert third == {"type": "unread", "items": [], "unread_count": 0}


@pytest.mark.django_db(transaction=True)
def test_an_idle_socket_stays_open_and_still_receives(data_scientist):
    """The layer's blocking read waits 5 s; a client timeout at 5 s used to drop sockets."""

    async def scenario():
        communicator = websocket(data_scientist)
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
        await asyncio.sleep(7)
        from channels.db import database_sync_to_async

        await database_sync_to_async(notify)(users=[data_scientist], title="After a quiet spell")
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["notification"]["title"] == "After a quiet spell"


@pytest.mark.django_db(transaction=True)
def test_the_socket_rejects_a_malformed_mark_read(data_scientist):
    async def scenario():
        communicator = websocket(data_scientist)
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"action": "mark_read", "ids": ["x"]})
        answer = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return answer

    assert async_to_sync(scenario)() == {
        "type": "error",
        "message": "ids must be a list of integers",
    }


@pytest.mark.django_db(transaction=True)
def test_the_full_asgi_stack_refuses_a_foreign_origin(data_scientist):
    client = Client()
    client.force_login(data_scientist)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario(origin):
        communicator = WebsocketCommunicator(
            application,
            "/ws/notifications/",
            headers=[(b"origin", origin), (b"cookie", cookie), (b"host", b"127.0.0.1")],
        )
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)(b"http://127.0.0.1") is True
    assert async_to_sync(scenario)(b"http://evil.example.com") is False


@pytest.mark.django_db
def test_marking_read_through_the_api(client, data_scientist):
    notify(users=[data_scientist], title="one")
    notify(users=[data_scientist], title="two")
    client.force_login(data_scientist)

    assert len(client.get("/api/v1/notifications/?unread=1").json()["results"]) == 2
    response = client.post(
        "/api/v1/notifications/read/", {"ids": ["nope"]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert client.post(
        "/api/v1/notifications/read/", {}, content_type="application/json"
    ).json() == {"marked_read": 2}
    assert client.get("/api/v1/notifications/?unread=1").json()["results"] == []
