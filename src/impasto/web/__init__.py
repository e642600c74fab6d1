"""impasto studio: a local web app over the one API (``impasto serve``), with a preference study.

* :mod:`.app`: the FastAPI app factory :func:`~impasto.web.app.create_app` and the page's API.
* :mod:`.jobs`: the SQLite job queue and its worker processes.
* :mod:`.methods`: a job's checked settings and the façade call per method.
* :mod:`.uploads`: upload checks (type from content, bytes and pixel bounds).
* :mod:`.study`: the two-alternative preference study and its Bradley-Terry report.

Needs the ``web`` extra (``pip install 'impasto[web]'``); nothing here is imported by ``import impasto``.
"""
