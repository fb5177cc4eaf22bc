from __future__ import annotations

import django_filters

from contacts.models import Contact
from contacts.services import contacts_matching_query


class ContactFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag")
    status = django_filters.ChoiceFilter(choices=Contact.Status.choices)
    q = django_filters.CharFilter(method="filter_q")
    external_id = django_filters.CharFilter(field_name="external_id")

    class Meta:
        model = Contact
        fields = ["email", "tag", "status", "q", "external_id"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value])

    def filter_q(self, queryset, name, value):
        return contacts_matching_query(queryset, value)
