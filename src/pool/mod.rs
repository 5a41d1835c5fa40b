//! Serial pool files and pool generation: pure logic, no database.
