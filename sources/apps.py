from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "sources"
    verbose_name = "Price sources"

    def ready(self) -> None:
        from sources import checks  # noqa: F401  (registers the checks)
