from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Event streams"

    def ready(self) -> None:
        # Corrections to django-eventstream and its system check; no background work.
        import streams
        from streams import checks  # noqa: F401  (registers the check)

        streams.install()
