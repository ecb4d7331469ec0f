from __future__ import annotations

from tests.support import ADMIN_PASSWORD, Api


def test_admin_logs_in_and_reads_account(admin: Api) -> None:
    account = admin.get("get-account")
    assert account["status"] == "ok"
    assert account["name"] == "admin"
    assert account["data"]["owner"] == "built-in"
    assert "password" not in account["data"]


def test_wrong_password_is_refused(anonymous: Api) -> None:
    answer = anonymous.login("admin", ADMIN_PASSWORD + "-wrong")
    assert answer["status"] == "error"
    assert answer["msg"] == "password or username is incorrect"


def test_anonymous_cannot_list_users(anonymous: Api) -> None:
    answer = anonymous.get("get-users", owner="built-in")
    assert answer == {"status": "error", "msg": "Please login first", "data": None, "data2": None}
