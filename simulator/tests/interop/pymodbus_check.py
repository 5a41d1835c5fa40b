"""Checks the simulated PLC with pymodbus, a Modbus client written elsewhere.

Usage: python pymodbus_check.py HOST PORT
Prints one line per check and exits 0 when every check passed, 1 otherwise.
The expected values are those of devices/README.md (register map).
"""
import sys

from pymodbus.client import ModbusTcpClient

host, port = sys.argv[1], int(sys.argv[2])
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f" ({detail})" if detail else ""))
    if not ok:
        failures.append(name)


def exception_code(response):
    return getattr(response, "exception_code", None) if response.isError() else None


client = ModbusTcpClient(host, port=port, timeout=3, retries=0)
check("connect", client.connect())

status = client.read_input_registers(0, count=22, device_id=1)
check("status block reads", not status.isError(), str(status))
if not status.isError():
    regs = status.registers
    check("map version is 1", regs[0] == 1, str(regs[0]))
    check("line state is Idle (4)", regs[2] == 4, str(regs[2]))
    check("no alarms", regs[3] == 0, str(regs[3]))

check("coils: exception 01", exception_code(client.read_coils(0, count=1, device_id=1)) == 1)
check("discrete inputs: exception 01", exception_code(client.read_discrete_inputs(0, count=1, device_id=1)) == 1)
check("IR 0..22 (one past the status block): exception 02",
      exception_code(client.read_input_registers(0, count=23, device_id=1)) == 2)
check("HR 50: exception 02", exception_code(client.read_holding_registers(50, count=1, device_id=1)) == 2)
check("single register into the verdict ring: exception 02",
      exception_code(client.write_register(100, 1, device_id=1)) == 2)
check("command 10: exception 03", exception_code(client.write_register(0, 10, device_id=1)) == 3)
check("reject limit 0: exception 03", exception_code(client.write_register(1, 0, device_id=1)) == 3)

w = client.write_registers(100 + 3 * 7, [0, 7, 1], device_id=1)
check("verdict GOOD for seq 7 (FC16 of its slot)", not w.isError(), str(w))
r = client.read_holding_registers(100 + 3 * 7, count=3, device_id=1)
check("verdict slot reads back", not r.isError() and r.registers == [0, 7, 1], str(r))
r = client.read_holding_registers(0, count=3, device_id=1)
check("control block: command reads 0, limit 5", not r.isError() and r.registers[:2] == [0, 5], str(r))

w = client.write_register(0, 2, device_id=1)
check("Start command accepted", not w.isError(), str(w))
status = client.read_input_registers(0, count=22, device_id=1)
check("line state is Execute (6)", not status.isError() and status.registers[2] == 6, str(status))
fates = client.read_input_registers(1000, count=123, device_id=1)
check("fate ring reads", not fates.isError(), str(fates))

client.close()
sys.exit(1 if failures else 0)
