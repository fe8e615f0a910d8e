-- Administrator roles (issue 5). An Auditor sees everything in the console and changes
-- nothing; every administrator who existed before roles keeps full rights.
ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'administrator'
    CHECK (role IN ('administrator', 'auditor'));
