from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carecall.accounts"
    label = "accounts"
