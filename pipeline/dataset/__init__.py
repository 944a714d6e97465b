"""The published dataset: row shapes (``shapes``), the folder readers load (``layout``,
``build``) and its card (``card``)."""
