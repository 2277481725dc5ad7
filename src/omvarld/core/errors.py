"""Errors a user can act on. Each message says what is wrong and where."""


class OmvarldError(Exception):
    """Base of every error the CLI turns into a clear message and a non-zero exit."""


class ConfigError(OmvarldError):
    """A configuration file or environment variable holds a wrong value."""

    def __init__(self, where: str, key: str, problem: str) -> None:
        self.where, self.key, self.problem = where, key, problem
        super().__init__(f"{where}: `{key}`: {problem}")

    def __reduce__(self):  # pickled between processes (Prefect, subprocess crawls)
        return type(self), (self.where, self.key, self.problem)


class SourceError(OmvarldError):
    """A source could not be crawled (unreachable, changed layout, bad response)."""


class ConfigProblems(OmvarldError):
    """Every problem found checking the configuration, one per line of the message."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):
        return type(self), (self.problems,)
