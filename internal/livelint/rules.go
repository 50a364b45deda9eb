package livelint

// rules holds, per code, the risk in plain words and the safe rewrite.
var rules = map[string][2]string{
	"WL101": {"A plain CREATE INDEX holds a lock that blocks every INSERT, UPDATE and DELETE on the table until the index is built: seconds at a million rows, minutes at a hundred million.",
		"Build it with CREATE INDEX CONCURRENTLY in a file of its own marked `-- atlas:txmode none` (weberctl db revision writes it that way); writes go on while it builds."},
	"WL102": {"PostgreSQL refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and REFRESH MATERIALIZED VIEW CONCURRENTLY inside a transaction block: the file fails.",
		"Move the statement to a file of its own marked `-- atlas:txmode none`, so that it runs outside a transaction."},
	"WL103": {"A default evaluated per row (clock_timestamp(), random(), gen_random_uuid(), a sequence) or a stored generated column makes PostgreSQL rewrite every row while no query can read or write the table.",
		"Add the column without a default (or with a constant one), set the default in a second statement (it applies to new rows only), and backfill existing rows in batches."},
	"WL104": {"Changing a column's type rewrites the table and its indexes under an exclusive lock, unless the change is binary-coercible (a longer varchar, varchar to text); it also breaks the prepared statements of the running application.",
		"Expand and contract: add a column of the new type, write both from the application, backfill in batches, switch reads, then drop the old column in a later release."},
	"WL105": {"SET NOT NULL scans every row to check it while it holds an exclusive lock on the table.",
		"Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it in a separate file, then SET NOT NULL (PostgreSQL 12+ uses the validated check and skips the scan) and drop the check."},
	"WL106": {"Adding a foreign key or check constraint checks every existing row while it blocks writes on the table (and, for a foreign key, on the referenced table).",
		"Add it with NOT VALID (new rows are checked at once), then run ALTER TABLE ... VALIDATE CONSTRAINT in a separate file: validation does not block writes."},
	"WL107": {"NOT VALID followed by VALIDATE in one transaction gains nothing: the transaction keeps the strong lock from the ADD until it commits.",
		"Put VALIDATE CONSTRAINT in a separate file, so that it runs in its own transaction."},
	"WL108": {"Adding a UNIQUE, PRIMARY KEY or EXCLUDE constraint builds its index while it blocks writes on the table.",
		"Build the index first with CREATE UNIQUE INDEX CONCURRENTLY (a `-- atlas:txmode none` file), then ADD CONSTRAINT ... UNIQUE USING INDEX, which is instant."},
	"WL109": {"One UPDATE or DELETE over every row runs as one long transaction: it locks every row it touches until it ends, bloats the table and can stall replication.",
		"Change the rows in bounded batches (WHERE id BETWEEN ... or LIMIT), each its own transaction, outside the schema change's file."},
	"WL201": {"Without an ALGORITHM clause MySQL/MariaDB silently falls back to copying the table (ALGORITHM=COPY) when it cannot do better, blocking writes for the whole copy.",
		"Say what you expect: ALGORITHM=INSTANT, or ALGORITHM=INPLACE, LOCK=NONE; the server then refuses, instead of copying, a change it cannot make online."},
	"WL202": {"ALGORITHM=COPY, LOCK=SHARED or LOCK=EXCLUSIVE copies or locks the table: writes wait for the whole statement.",
		"Use ALGORITHM=INSTANT or ALGORITHM=INPLACE, LOCK=NONE where the server supports the change; otherwise an online schema change tool (gh-ost, pt-online-schema-change)."},
	"WL203": {"Changing a column's type (MODIFY or CHANGE COLUMN) copies the table in most cases, blocking writes; widening a VARCHAR within the same length-byte size is the exception.",
		"Expand and contract: add a new column, backfill it in batches, switch the application, drop the old column later; or use an online schema change tool."},
	"WL205": {"MySQL and MariaDB add a CHECK constraint by copying the table, and a FOREIGN KEY by copying it unless foreign_key_checks is off: writes wait for the whole copy.",
		"Add it in a maintenance window, or add the FOREIGN KEY with foreign_key_checks = 0 (ALGORITHM=INPLACE; existing rows are not checked, so check them yourself first)."},
	"WL204": {"Adding or dropping a primary key rebuilds the whole table.",
		"Create the table with its primary key, or use an online schema change tool on a populated table."},
}

// Explain returns a rule's risk in plain words and its safe rewrite ("" for
// an unknown code).
func Explain(code string) (explanation, alternative string) {
	r := rules[code]
	return r[0], r[1]
}
