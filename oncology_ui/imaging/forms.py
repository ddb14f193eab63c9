"""Upload and RECIST forms of the imaging pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from inference.imaging.recist import MAX_TARGETS
from oncology_ui.core.forms import MultipleFileField
from oncology_ui.imaging.conf import PacsSettings

MAX_TARGETS_PER_ORGAN = 2


class UploadForm(forms.Form):
    dicom = MultipleFileField(
        label="DICOM study",
        help_text="A zip of the study (folders and DICOMDIR are fine; DICOMDIR paths are not "
        "trusted) or the .dcm files themselves. Identifying data are removed before anything is "
        "stored.",
    )


class RecistLesionForm(forms.Form):
    lesion_id = forms.CharField(label="Lesion", max_length=20, required=False)
    kind = forms.ChoiceField(
        label="Kind",
        choices=[("target", "Target"), ("non_target", "Non-target"), ("new", "New lesion")],
    )
    region = forms.TypedChoiceField(
        label="From region", coerce=int, empty_value=None, required=False, choices=()
    )
    diameter_mm = forms.FloatField(
        label="Diameter (mm)", min_value=0.0, max_value=1000.0, required=False
    )
    organ = forms.CharField(label="Organ", max_length=40, required=False)
    is_lymph_node = forms.BooleanField(label="Node (short axis)", required=False)
    status = forms.ChoiceField(
        label="Non-target status",
        choices=[
            ("present", "Present"),
            ("absent", "Absent"),
            ("unequivocal_progression", "Unequivocal progression"),
        ],
        required=False,
    )

    def __init__(self, *args: Any, regions: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "—"), *regions]  # type: ignore[attr-defined]


if TYPE_CHECKING:  # the stubs make BaseFormSet generic; at run time it is not subscriptable
    _BaseFormSet = forms.BaseFormSet[RecistLesionForm]
else:
    _BaseFormSet = forms.BaseFormSet


class BaseRecistFormSet(_BaseFormSet):
    def __init__(self, *args: Any, regions: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        self.regions = regions
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"regions": self.regions}

    def clean(self) -> None:
        if any(self.errors):
            return
        targets: list[dict[str, Any]] = []
        seen: set[str] = set()
        for form in self.forms:
            data = form.cleaned_data
            if not data or not data.get("lesion_id"):
                continue
            lesion_id = data["lesion_id"].strip()
            if lesion_id in seen:
                raise ValidationError(f"Lesion {lesion_id} is listed twice.")
            seen.add(lesion_id)
            if data["kind"] == "target":
                targets.append(data)
        if len(targets) > MAX_TARGETS:
            raise ValidationError(f"RECIST 1.1 allows at most {MAX_TARGETS} target lesions.")
        organs: dict[str, int] = {}
        for data in targets:
            organ = (data.get("organ") or "").strip().lower()
            if organ:
                organs[organ] = organs.get(organ, 0) + 1
                if organs[organ] > MAX_TARGETS_PER_ORGAN:
                    raise ValidationError(
                        f"RECIST 1.1 allows at most {MAX_TARGETS_PER_ORGAN} target lesions per "
                        f"organ ({data['organ']})."
                    )


RecistLesionFormSet = cast(
    type[BaseRecistFormSet],
    forms.formset_factory(
        RecistLesionForm, formset=BaseRecistFormSet, extra=0, max_num=20, validate_max=True
    ),
)


class RecistDateForm(forms.Form):
    date = forms.DateField(
        label="Scan date",
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )


class PacsFindForm(forms.Form):
    connection = forms.ChoiceField(label="PACS", required=False)
    accession = forms.CharField(
        label="Accession number",
        max_length=16,  # DICOM SH
        required=False,
        help_text="Optional: one study's accession number. The search is always by this "
        "patient's MRN.",
    )

    def __init__(self, *args: Any, connections: Sequence[PacsSettings] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["connection"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(c.key, c.name) for c in connections]
        if len(connections) < 2:
            field.widget = forms.HiddenInput()


class PacsImportForm(forms.Form):
    study_uid = forms.CharField(max_length=64, widget=forms.HiddenInput)
    connection = forms.CharField(max_length=12, required=False, widget=forms.HiddenInput)
