"""The sign-in page: the site's name everywhere, and a mistyped password keeps the username."""

from __future__ import annotations

import re

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def _title_brand_footer(html: str) -> tuple[str, str, str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    brand = re.search(r'<a class="brand"[^>]*>(.*?)</a>', html, re.S)
    footer = re.search(r'<footer class="footer">(.*?)</footer>', html, re.S)
    assert title and brand and footer, html
    return title.group(1), brand.group(1), footer.group(1)


def test_it_names_the_site_not_the_host_in_title_header_and_footer(
    settings: LazySettings,
) -> None:
    settings.SITE_NAME = "OncoBoard"
    html = Client().get(reverse("core-login"), HTTP_HOST="127.0.0.1").content.decode()
    title, brand, footer = _title_brand_footer(html)
    assert title == "Sign in · OncoBoard"
    assert brand.strip() == "OncoBoard"
    assert footer.startswith("OncoBoard ")
    assert "127.0.0.1" not in title + brand + footer


def test_a_wrong_password_keeps_the_username_and_names_the_site(cast: Cast) -> None:
    response = Client().post(
        reverse("core-login"),
        {"username": "onco", "password": "not-the-password"},
        HTTP_HOST="127.0.0.1",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "did not match" in html
    username = re.search(r'<input[^>]*name="username"[^>]*>', html)
    assert username and 'value="onco"' in username.group(0)
    password = re.search(r'<input[^>]*name="password"[^>]*>', html)
    assert password and "value=" not in password.group(0)
    # The cursor goes where the correction is needed: the password, not the kept username.
    assert "autofocus" in password.group(0) and "autofocus" not in username.group(0)
    title, brand, _ = _title_brand_footer(html)
    assert "127.0.0.1" not in title + brand
