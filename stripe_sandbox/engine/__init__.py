"""The shared billing logic under the resources: periods, payments, invoicing, collection, a subscription's life.

Resource modules call down into it; it never imports a resource. Layers, lowest first:
periods and payments, then collection, then invoicing, then lifecycle.
"""
