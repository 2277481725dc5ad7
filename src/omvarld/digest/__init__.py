"""The weekly digest: build (select and rank), render (HTML, Markdown, PDF), write, e-mail,
calendar, positions."""
