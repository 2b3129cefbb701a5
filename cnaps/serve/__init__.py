"""`cnaps serve`: the input -> model -> output workflow as a local web app and HTTP API.

`app.py` holds the routes and input checks, `jobs.py` the job records and the worker pool,
`page.html` the single page (plain HTML, CSS and JavaScript: no build step).
"""
