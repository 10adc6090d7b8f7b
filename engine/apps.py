from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Background engine"

    def ready(self) -> None:
        from engine import checks  # noqa: F401  (registers the checks)
