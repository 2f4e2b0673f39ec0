// The help texts of `npm run mosaic` (tools/cli/mosaic.mjs).

export const IMPORT_HELP = `Usage: npm run mosaic -- import <file> --source <name-or-id> [options]

Imports a CSV or NDJSON file (optionally .gz) into a source through the collector's
POST /v1/import, in chunks, with a progress bar and a summary of accepted, duplicate and
rejected rows (with their line numbers). Re-importing a file changes nothing.

Options:
  --source <name|id>      the source the rows belong to (resolved with GET /v1/sources)
  --create-source         create the source when no active source has that name
  --write-key <key>       authenticate with the source's write key instead of the admin token
  --collector <url>       collector base URL (default $MOSAIC_COLLECTOR_URL or http://127.0.0.1:8080)
  --token <token>         admin token (default $MOSAIC_ADMIN_TOKEN, else .mosaic/admin-token)
  --format csv|ndjson     default: from the file name (.csv, .ndjson/.jsonl/.json, with optional .gz)
  --type <type>           message type of rows that have none (default track)
  --event <name>          event of track rows that have none, e.g. "Order Completed"
  --map <column=target>   CSV: map a column to a field, e.g. --map "Total=properties.revenue:number"
                          (repeatable; an empty target or - drops the column)
  --delimiter <char>      CSV field delimiter (default ,; use '\\t' for tab)
  --concurrency <n>       requests in flight (default 4; 1 keeps file order on Kafka)
  --gzip                  compress request bodies
  --chunk-bytes <n>       largest request body (default 409600; the collector takes 512000)
  --show-rejected <n>     rejected rows listed in the summary (default 20)
  --json                  print the summary as JSON on stdout
  --quiet                 no progress output

CSV conventions (docs/collector.md, "Imports"): a header row; columns type, userId, anonymousId,
messageId, event, name, category, groupId, previousId, timestamp (ISO-8601 or epoch s/ms),
email and phone (traits on identify/group, context.traits otherwise),
properties.<path>, traits.<path>, context.<path>, context.externalIds.<type>; any other
column becomes a property (a trait on identify/group rows). Numbers and true/false are
typed automatically; force a type with :string, :number, :boolean or :json.

Exit codes: 0 all rows accepted; 1 some rows rejected; 2 the import did not complete.`;

export const SEGMENTS_HELP = `Usage: npm run mosaic -- segments apply <dir> [options]
       npm run mosaic -- segments list [options]

apply: makes the segmentation service hold the segment definitions of a directory
("segments as code"). Reads every *.json, *.yaml and *.yml file in <dir> (not recursive, by
name; a file holds one definition or an array of them, YAML also several documents),
validates them all (POST /v1/segments/validate) and stops with every error (file, key, JSON
path, message) before writing anything. Then shows the plan and applies it:
  + key (new)               created
  ~ key (v3 → v4)           updated (with expectedVersion=3), followed by a diff of the JSON
  ~ key (v3 → v4, enable)   enabled (a disabled segment whose file is present)
  = key (unchanged)         nothing written
  - key (disable)           with --prune: on the server but not in <dir>; disabled, never deleted
Segments that others refer to ({ "segment": "<key>" }) are written first; a reference
cycle or an unknown segment stops it before anything is written. After writing, it waits
for the backfills of the segments it wrote (progress on stderr) and prints a summary.
Running it again writes nothing.

list: key, version, status, size and backfill of every segment.

Options:
  --segmentation <url>    segmentation base URL (default $MOSAIC_SEGMENTATION_URL or http://127.0.0.1:8083)
  --token <token>         admin token (default $MOSAIC_ADMIN_TOKEN, else .mosaic/admin-token)
  --dry-run               apply: show the plan, write nothing
  --prune                 apply: disable active segments that are not in <dir> (except the
                          clustering job's cluster.* segments)
  --no-wait               apply: do not wait for the backfills
  --timeout <s>           apply: longest wait for the backfills (default 600)
  --json                  print the summary (apply) or the segments (list) as JSON on stdout
  --quiet                 no progress output

Exit codes: 0 applied (and backfilled); 1 some writes failed (e.g. 409: changed on the server
meanwhile; run it again) or a backfill failed or did not finish within --timeout; 2 nothing
was written (usage, invalid definitions, reference cycles, authentication, service unreachable).`;

export const CONSOLE_USERS_HELP = `Usage: npm run mosaic -- console-users add <username> --role viewer|editor|admin [--password <p>]
       npm run mosaic -- console-users list
       npm run mosaic -- console-users remove <username>

Manages the web console's users through the console (/api/users) with the admin token.
add: without --password, a password is generated and printed once. Usernames are 3–64
characters of a-z 0-9 . _ @ -; passwords at least 12 characters. remove refuses to remove
the last admin.

Options:
  --console <url>         console base URL (default $MOSAIC_CONSOLE_URL or http://127.0.0.1:8090)
  --token <token>         admin token (default $MOSAIC_ADMIN_TOKEN, else .mosaic/admin-token)
  --role <role>           add: viewer (reads), editor (changes), admin (also users and secrets)
  --password <p>          add: the user's password (visible in your shell history: prefer the generated one)
  --json                  print the result as JSON on stdout

Exit codes: 0 done; 2 not done (usage, user exists, last admin, refused token, console unreachable).`;

export const HELP = `Usage: npm run mosaic -- <command> [options]

Commands:
  import <file> --source <name-or-id>   import a CSV or NDJSON file through the collector
  segments apply <dir>                  apply the segment definitions of a directory
  segments list                         list segments with their version, status, size, backfill
  console-users add|list|remove         manage the web console's users

${IMPORT_HELP}

${SEGMENTS_HELP}

${CONSOLE_USERS_HELP}`;
