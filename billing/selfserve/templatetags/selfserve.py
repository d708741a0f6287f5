import uuid

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def request_id_field():
    """A hidden `request_id`, new for each form: the same form submitted twice is one request, two
    forms on one page are two."""
    return format_html('<input type="hidden" name="request_id" value="{}">', uuid.uuid4())
