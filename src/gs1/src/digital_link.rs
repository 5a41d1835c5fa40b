//! GS1 Digital Link URIs: primary key and qualifiers in the path, data attributes in the query.
