from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "cadang.server.inventory"
    label = "inventory"
    verbose_name = "Inventory"
