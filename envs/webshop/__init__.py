"""WebShop: a real Flask site (``server.py``), search (``engine.py``), goals, reward, Lumos tools and
the ``webshop`` environment (``env.py``)."""
