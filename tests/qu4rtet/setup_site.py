"""Sets up a fresh QU4RTET database for the interoperability test: a user with
a DRF token and the SerialBox allocation permission, a sequential and a
randomized SerialBox pool for serials, a sequential pool of SSCC serial
references, and the quartet-capture "EPCIS" rule.

Run by run.sh after `migrate`, with DJANGO_SETTINGS_MODULE set. Prints
KEY=VALUE lines (the token among them) for run.sh's env file.
Usage: setup_site.py SEQUENTIAL_POOL RANDOM_POOL SSCC_POOL
"""

import sys

import django

django.setup()

from django.contrib.auth.models import Permission, User  # noqa: E402
from quartet_capture.models import Rule  # noqa: E402
from quartet_epcis.parsing.steps import create_rule  # noqa: E402
from random_flavorpack.models import RandomizedRegion  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from serialbox.models import Pool, SequentialRegion  # noqa: E402


def main(sequential_pool: str, random_pool: str, sscc_pool: str) -> None:
    user, _ = User.objects.get_or_create(username="serialstation")
    user.set_unusable_password()
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="allocate_numbers"))
    token, _ = Token.objects.get_or_create(user=user)

    if not Pool.objects.filter(machine_name=sequential_pool).exists():
        pool = Pool.objects.create(
            readable_name="serialstation sequential test pool",
            machine_name=sequential_pool,
            active=True,
            request_threshold=100000,
        )
        SequentialRegion.objects.create(
            readable_name="serialstation sequential test region",
            machine_name=sequential_pool + "-region",
            active=True,
            order=1,
            start=100000000001,
            end=999999999999,
            pool=pool,
        )
    if not Pool.objects.filter(machine_name=random_pool).exists():
        pool = Pool.objects.create(
            readable_name="serialstation randomized test pool",
            machine_name=random_pool,
            active=True,
            request_threshold=100000,
        )
        RandomizedRegion.objects.create(
            readable_name="serialstation randomized test region",
            machine_name=random_pool + "-region",
            active=True,
            order=1,
            pool=pool,
            min=100000000000,
            max=999999999999,
            start=123456789012,
        )

    if not Pool.objects.filter(machine_name=sscc_pool).exists():
        # SSCC serial references: 9 digits under a 7-digit company prefix.
        pool = Pool.objects.create(
            readable_name="serialstation SSCC reference pool",
            machine_name=sscc_pool,
            active=True,
            request_threshold=100000,
        )
        SequentialRegion.objects.create(
            readable_name="serialstation SSCC reference region",
            machine_name=sscc_pool + "-region",
            active=True,
            order=1,
            start=1,
            end=999999999,
            pool=pool,
        )

    if not Rule.objects.filter(name="EPCIS").exists():
        create_rule()

    print(f"QU4RTET_TOKEN={token.key}")
    print(f"QU4RTET_SEQUENTIAL_POOL={sequential_pool}")
    print(f"QU4RTET_RANDOM_POOL={random_pool}")
    print(f"QU4RTET_SSCC_POOL={sscc_pool}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: setup_site.py SEQUENTIAL_POOL RANDOM_POOL SSCC_POOL")
    main(sys.argv[1], sys.argv[2], sys.argv[3])
