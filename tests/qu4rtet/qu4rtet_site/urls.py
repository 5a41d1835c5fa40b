"""URL layout of the test QU4RTET: SerialBox under /serialbox/, capture under
/capture/, the EPCIS store's API under /epcis/."""

from django.urls import include, path

urlpatterns = [
    path("serialbox/", include("serialbox.api.urls")),
    path("capture/", include("quartet_capture.urls")),
    path("epcis/", include("quartet_epcis.urls")),
]
