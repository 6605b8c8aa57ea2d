"""Turning a frozen edition into documents and putting them somewhere: the edition's model
(model.py), its HTML, JSON, CSV and CSVW (render.py), the site's indexes, calendar and feeds;
putting them (publish.py) into an object store (stores/: a local directory or S3); checking a
published site (check.py)."""
