from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "carecall.orgs"
    label = "orgs"
