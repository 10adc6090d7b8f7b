from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "sources"
    verbose_name = "Price sources"

    def ready(self) -> None:
        # A correction to django-eventstream's stream reads, not background work.
        from sources import sse

        sse.install()
