"""A station PLC served by pymodbus (a Modbus/TCP implementation independent of
this project), laid out per the register map in devices/README.md, with fixed
example contents. Used by devices/tests/plc_pymodbus.rs.

Usage: python pymodbus_plc.py <port>
"""

import asyncio
import sys

from pymodbus.server import StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

STATUS_BLOCK = [
    1,                 # IR 0  map version
    7,                 # IR 1  heartbeat
    6,                 # IR 2  PackML Execute
    0b10,              # IR 3  alarms: bin full
    0x0001, 0x1171,    # IR 4-5   items detected = 70001
    0x0001, 0x1170,    # IR 6-7   camera trigger count = 70000
    0x0000, 0x0003,    # IR 8-9   gate count = 3 (seqs 0, 1, 2 have final fates)
    0x0001, 0x0D88,    # IR 10-11 good exits = 69000
    0x0000, 0x03DE,    # IR 12-13 rejects fired = 990
    0x0000, 0x03DD,    # IR 14-15 rejects confirmed = 989
    0xFFFF, 0xFFFA,    # IR 16-17 encoder = 4294967290
    600,               # IR 18 items/min
    2,                 # IR 19 consecutive rejects
    0x0000, 0x0004,    # IR 20-21 fates written = 4 (seq 4 decided before seq 3)
]

FATE_RING = [0] * (256 * 3)
FATE_RING[0:9] = [0, 0, 1, 0, 1, 2, 0, 2, 3]  # seq 0 exited_good, 1 rejected_confirmed, 2 rejected_unconfirmed
FATE_RING[12:15] = [0, 4, 1]  # seq 4 exited_good while seq 3 still waits for its reject confirmation


async def main(port):
    device = SimDevice(
        id=1,
        simdata=(
            [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)],  # coils (unused)
            [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)],  # discrete inputs (unused)
            [
                SimData(address=0, values=[0, 5, 0], datatype=DataType.REGISTERS),  # HR 0-2 control block
                SimData(address=100, values=[0] * (256 * 3), datatype=DataType.REGISTERS),  # HR 100-867 verdicts
            ],
            [
                SimData(address=0, values=STATUS_BLOCK, datatype=DataType.REGISTERS),  # IR 0-21 status block
                SimData(address=1000, values=FATE_RING, datatype=DataType.REGISTERS),  # IR 1000-1767 fates
            ],
        ),
    )
    print(f"serving on 127.0.0.1:{port}", flush=True)
    await StartAsyncTcpServer(context=[device], address=("127.0.0.1", port))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
