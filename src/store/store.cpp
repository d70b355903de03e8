#include "store/store.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "store/claim.h"
#include "table/table.h"
#include "util/duration.h"

namespace scalelab {

namespace fs = std::filesystem;

namespace {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

// The index file cannot be used: corrupt, not a database, not a file. Opening moves it aside.
struct Damaged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool damage_code(int rc) {
  rc &= 0xff;
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  int rc = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
  std::string msg = fmt::format("store: {}{}", what.empty() ? "" : what + ": ", db ? sqlite3_errmsg(db) : "out of memory");
  if (damage_code(rc)) throw Damaged(msg);
  throw std::runtime_error(msg);
}

// One prepared statement; binds by position (1-based) and steps row by row.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail(db, sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, long v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, int v) { return bind(i, static_cast<long>(v)); }
  Statement& bind(int i, std::optional<double> v) { return v ? bind(i, *v) : bind_null(i); }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // True while there is a row to read.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "");
  }
  // Runs to completion and resets, so the statement can be bound and run again.
  void run() {
    while (step()) {
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  long integer(int col) const { return static_cast<long>(sqlite3_column_int64(stmt_, col)); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front: two claimers queue on the busy timeout instead of
// both reading, then one failing to upgrade (which plain BEGIN does, tens of thousands of times).
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec("COMMIT");
    done_ = true;
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db_, sql);
  }
  sqlite3* db_;
  bool done_ = false;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id          TEXT PRIMARY KEY,   -- hash of the hyperparameters, the directory name
  hparams     TEXT NOT NULL,      -- hparams.yaml
  status      TEXT NOT NULL,      -- pending running done diverged failed
  cost        REAL NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  owner_pid   INTEGER NOT NULL DEFAULT 0,
  owner_host  TEXT NOT NULL DEFAULT '',
  owner_start INTEGER NOT NULL DEFAULT 0,  -- the owner's process start time: a reused pid is not it
  heartbeat   REAL NOT NULL DEFAULT 0,
  started_at  REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0,
  wall_s      REAL NOT NULL DEFAULT 0,
  test_error  REAL,
  result      TEXT NOT NULL DEFAULT '',  -- result.json
  message     TEXT NOT NULL DEFAULT '',
  job         TEXT NOT NULL DEFAULT ''   -- where the attempt runs outside the sweep (slurm:JOB_TASK)
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status, cost);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

const char* kColumns =
    "id, hparams, status, cost, attempts, result, message, wall_s, owner_pid, owner_host, heartbeat, owner_start, job";

// The configuration a row stands for, never taken on the row's word: its hparams when they parse and
// hash to its id, else RUN/hparams.yaml when that does, else the planned configuration (when given
// and it does). nullopt: nothing trustworthy says what this run is.
std::optional<Hparams> trusted_hparams(const std::string& id, const std::string& row_text, const fs::path& run_dir,
                                       const Hparams* planned, std::string* source = nullptr) {
  try {
    auto h = Hparams::from_yaml(row_text, "store.sqlite");
    if (h.names(id)) {
      if (source) *source = "index";
      return h;
    }
  } catch (const std::exception&) {
  }
  try {
    std::error_code ec;
    if (fs::is_regular_file(run_dir / "hparams.yaml", ec)) {
      auto h = Hparams::read(run_dir / "hparams.yaml");
      if (h.names(id)) {
        if (source) *source = (run_dir / "hparams.yaml").string();
        return h;
      }
    }
  } catch (const std::exception&) {
  }
  if (planned && planned->names(id)) {
    if (source) *source = "the spec";
    return *planned;
  }
  return std::nullopt;
}

// Why RUN cannot be this run's directory (another configuration's hparams.yaml, an unreadable one, a
// file in its place), or "" when it can.
std::string foreign_reason(const fs::path& run_dir, const std::string& id) {
  std::error_code ec;
  auto st = fs::symlink_status(run_dir, ec);
  if (ec || !fs::exists(st)) return "";
  if (!fs::is_directory(st)) return fmt::format("{} is not a directory", run_dir.string());
  if (!fs::exists(run_dir / "hparams.yaml", ec)) return "";
  try {
    auto h = Hparams::read(run_dir / "hparams.yaml");
    if (h.names(id)) return "";
    return fmt::format("{} holds another configuration (it hashes to {}, not {})", (run_dir / "hparams.yaml").string(),
                       h.hash(), id);
  } catch (const std::exception& e) {
    return fmt::format("{} is unreadable: {}", (run_dir / "hparams.yaml").string(), e.what());
  }
}

// A name beside `base` that does not exist yet: base, base.2, base.3, ...
fs::path free_name(const fs::path& base) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(base, ec))) return base;
  for (int i = 2;; ++i) {
    fs::path p = base.string() + "." + std::to_string(i);
    if (!fs::exists(fs::symlink_status(p, ec))) return p;
  }
}

// A row as stored; the status and configuration are checked by the caller.
struct RawRow {
  RunRecord record;
  std::string hparams_text, status_text;
  double heartbeat = 0;
};

RawRow read_raw(const Statement& s) {
  RawRow row;
  RunRecord& r = row.record;
  r.id = s.text(0);
  row.hparams_text = s.text(1);
  row.status_text = s.text(2);
  r.cost = s.real(3);
  r.attempts = static_cast<int>(s.integer(4));
  if (auto result = s.text(5); !result.empty()) r.result = nlohmann::json::parse(result, nullptr, false);
  r.message = s.text(6);
  r.wall_s = s.real(7);
  r.owner_pid = s.integer(8);
  r.owner_host = s.text(9);
  row.heartbeat = s.real(10);
  r.owner_start = static_cast<long long>(sqlite3_int64(s.integer(11)));
  r.job = s.text(12);
  return row;
}

std::optional<RunStatus> known_status(const std::string& text) {
  try {
    return parse_run_status(text);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

double result_wall(const nlohmann::json& result) {
  return result.contains("wall_s") && result["wall_s"].is_number() ? result["wall_s"].get<double>() : 0.0;
}

// A result's test error; none when it has no numeric one.
std::optional<double> result_test_error(const nlohmann::json& result) {
  if (result.contains("test_error") && result["test_error"].is_number()) return result["test_error"].get<double>();
  return std::nullopt;
}

// Records a finished directory's result through an UPDATE of (status, result, test_error, wall_s)
// for an id; a result without a test error records 0.
void record_finished(Statement& update, const RunDirState& state, const std::string& id) {
  const auto& r = state.result;
  update.bind(1, std::string(to_string(state.status))).bind(2, r.dump()).bind(3, result_test_error(r).value_or(0.0))
      .bind(4, result_wall(r)).bind(5, id).run();
}

// What a directory says of its run where the index cannot: its result, a failure, or still to run.
RunStatus directory_status(const RunDirState& state) {
  return state.kind == RunDirState::finished ? state.status
         : state.kind == RunDirState::failed ? RunStatus::failed
                                             : RunStatus::pending;
}

}  // namespace


namespace {

// Fields of /proc/PID/stat: the state (field 3) and the start time (field 22, clock ticks since boot).
bool read_proc_stat(long pid, char& state, long long& start) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return false;
  auto paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return false;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  state = '?';
  start = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3) state = field.empty() ? '?' : field[0];
    if (i == 22) start = std::atoll(field.c_str());
  }
  return start > 0;
}

}  // namespace

long long Store::process_start(long pid) {
  char state;
  long long start;
  return read_proc_stat(pid, state, start) ? start : 0;
}

Store::Store(const fs::path& sweep_dir, StoreMode mode)
    : dir_(sweep_dir), mode_(mode), host_(hostname()), pid_(static_cast<long>(getpid())) {
  start_ = process_start(pid_);
  if (const char* lease = std::getenv("SCALELAB_LEASE_SECONDS"); lease && std::atof(lease) > 0) lease_ = std::atof(lease);
  if (mode_ == StoreMode::read_only) open_read_only();
  else open_read_write();
}

Store::~Store() { sqlite3_close(db_); }

void Store::open_read_write() {
  fs::create_directories(dir_ / "runs");
  auto db_path = dir_ / "store.sqlite";
  // Deciding that the index is damaged and moving it aside happens under a lock, so that of several
  // processes opening a damaged store only the first moves it, never the fresh one another just made.
  int lock = open((dir_ / "store.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock >= 0) flock(lock, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() {
      if (fd >= 0) close(fd);  // closing releases the flock
    }
  } unlock{lock};

  auto try_open = [&]() {
    std::error_code ec;
    auto st = fs::symlink_status(db_path, ec);
    if (fs::exists(st) && !fs::is_regular_file(st)) throw Damaged(fmt::format("{} is not a file", db_path.string()));
    if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
      fail(db_, "cannot open " + db_path.string());
    // Measured: with a timeout >= 5 s concurrent writers lose nothing; without one most writes fail.
    sqlite3_busy_timeout(db_, 30000);
    {
      Statement check(db_, "PRAGMA quick_check");
      std::string verdict = check.step() ? check.text(0) : "no answer";
      if (verdict != "ok") throw Damaged(fmt::format("{} fails its integrity check: {}", db_path.string(), verdict));
    }
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    initialise();
  };
  try {
    try_open();
  } catch (const Damaged& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    auto aside = free_name(dir_ / ("store.sqlite.damaged-" + utc_timestamp()));
    fs::rename(db_path, aside);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      fs::path side = db_path.string() + suffix;
      std::error_code ec;
      if (fs::exists(fs::symlink_status(side, ec))) fs::rename(side, aside.string() + suffix);
    }
    warnings_.push_back(fmt::format("the index {} could not be read ({}): moved it to {} and rebuilt it from {}",
                                    db_path.string(), e.what(), aside.string(), (dir_ / "runs").string()));
    try_open();
  }
}

void Store::open_read_only() {
  auto db_path = dir_ / "store.sqlite";
  std::error_code ec;
  std::string why;
  if (fs::is_regular_file(db_path, ec)) {
    // mode=ro needs the -shm file of a WAL database, or a directory it may create it in; immutable=1
    // reads the main file alone, which is whole when no -wal is left (the last writer checkpointed).
    fs::path wal = db_path.string() + "-wal";
    bool wal_empty = !fs::exists(wal, ec) || fs::file_size(wal, ec) == 0;
    // Without a -wal the main file is whole and immutable=1 reads it creating nothing; with one, a
    // writer may be at work and mode=ro reads through its WAL.
    std::vector<std::string> uris = {"file:" + db_path.string() + "?mode=ro"};
    if (wal_empty) uris.insert(uris.begin(), "file:" + db_path.string() + "?immutable=1");
    for (const auto& uri : uris) {
      try {
        if (sqlite3_open_v2(uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK)
          fail(db_, "cannot open " + db_path.string());
        sqlite3_busy_timeout(db_, 30000);
        Statement check(db_, "PRAGMA quick_check");
        std::string verdict = check.step() ? check.text(0) : "no answer";
        if (verdict != "ok") throw Damaged(fmt::format("fails its integrity check: {}", verdict));
        bool has_owner_start = false, has_job = false;
        Statement cols(db_, "PRAGMA table_info(runs)");
        while (cols.step()) {
          has_owner_start = has_owner_start || cols.text(1) == "owner_start";
          has_job = has_job || cols.text(1) == "job";
        }
        if (!has_owner_start || !has_job) throw std::runtime_error("an older schema");
        Statement(db_, "SELECT count(*) FROM runs").step();
        return;
      } catch (const std::exception& e) {
        why = e.what();
        sqlite3_close(db_);
        db_ = nullptr;
      }
    }
    warnings_.push_back(fmt::format("cannot read the index {} ({}): listing the run directories instead",
                                    db_path.string(), why));
  } else if (fs::exists(fs::symlink_status(db_path, ec))) {
    warnings_.push_back(fmt::format("{} is not a file: listing the run directories instead", db_path.string()));
  }
  open_memory_index();
}

void Store::open_memory_index() {
  if (sqlite3_open(":memory:", &db_) != SQLITE_OK) fail(db_, "cannot open an index in memory");
  exec(kSchema);
  Transaction t(db_);
  std::error_code ec;
  if (fs::is_directory(dir_ / "runs", ec)) index_directories();
  t.commit();
}

void Store::initialise() {
  // Under the write lock, so of several processes opening a new store only the first fills it:
  // a second rebuild would drop the rows the first has claimed but not yet given a directory.
  Transaction t(db_);
  exec(kSchema);
  bool has_owner_start = false, has_job = false;
  {
    Statement cols(db_, "PRAGMA table_info(runs)");
    while (cols.step()) {
      has_owner_start = has_owner_start || cols.text(1) == "owner_start";
      has_job = has_job || cols.text(1) == "job";
    }
  }
  if (!has_owner_start) exec("ALTER TABLE runs ADD COLUMN owner_start INTEGER NOT NULL DEFAULT 0");
  if (!has_job) exec("ALTER TABLE runs ADD COLUMN job TEXT NOT NULL DEFAULT ''");
  bool created = Statement(db_, "SELECT value FROM meta WHERE key='created'").step();
  if (!created) {
    index_directories();
    Statement(db_, "INSERT INTO meta(key, value) VALUES('created', datetime('now'))").run();
  }
  t.commit();
}

void Store::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db_, "");
}

bool Store::owner_alive(long pid, const std::string& host, long long start, double heartbeat,
                        const std::string& job) const {
  if (process_alive(pid, host, start, heartbeat)) return true;
  return !job.empty() && (!job_alive_ || job_alive_(job));
}

bool Store::process_alive(long pid, const std::string& host, long long start, double heartbeat) const {
  if (host != host_) return now_seconds() - heartbeat <= lease_;  // only its lease can tell
  // This host: alive while that very process lives, however long since its last heartbeat (a
  // stopped or swapped-out sweep still owns its runs, and its workers may still be writing).
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  char state;
  long long running_since;
  if (!read_proc_stat(pid, state, running_since)) return start == 0;  // no /proc: the pid is all we know
  if (state == 'Z' || state == 'X') return false;                      // exited, not yet reaped
  return start == 0 || running_since == start;  // 0: claimed before start times were recorded
}

fs::path Store::quarantine(const std::string& id) {
  fs::create_directories(dir_ / "quarantine");
  auto to = free_name(dir_ / "quarantine" / (id + "." + utc_timestamp()));
  fs::rename(run_dir(id), to);
  return to;
}

namespace {

// The directories under runs/ and which configuration each holds. A directory named by the legacy
// hash of its hparams.yaml (written before defaults were normalised) is the same configuration's.
struct RunDirectories {
  std::map<std::string, std::string> dir_of_hash;  // Hparams::hash() -> directory name
  std::map<std::string, std::string> text;         // directory name -> its hparams.yaml
};

RunDirectories scan_run_directories(const fs::path& runs) {
  RunDirectories dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs, ec)) {
    if (!entry.is_directory(ec)) continue;  // a stray file under runs/ is nobody's run
    auto id = entry.path().filename().string();
    try {
      auto h = Hparams::read(entry.path() / "hparams.yaml");
      if (!h.names(id)) continue;
      dirs.text[id] = h.to_yaml();
      auto [it, fresh] = dirs.dir_of_hash.emplace(h.hash(), id);
      if (!fresh && id == h.hash()) it->second = id;  // the current name wins over a legacy one
    } catch (const std::exception&) {
    }
  }
  return dirs;
}

// Adds the planned runs that are new (pending) and updates every planned run's cost; a run whose
// configuration has a directory keeps that directory's name and text. Returns the planned runs by id.
std::map<std::string, const Hparams*> insert_planned(sqlite3* db, const std::vector<Store::Planned>& runs,
                                                     RunDirectories& dirs, Store::PlanOutcome& out) {
  std::map<std::string, const Hparams*> planned_by_id;
  Statement insert(db,
                   "INSERT INTO runs(id, hparams, status, cost) VALUES(?, ?, 'pending', ?) "
                   "ON CONFLICT(id) DO UPDATE SET cost = excluded.cost");
  for (const auto& run : runs) {
    auto id = run.hparams.hash();
    std::string text = run.hparams.to_yaml();
    if (auto it = dirs.dir_of_hash.find(id); it != dirs.dir_of_hash.end()) {
      id = it->second;
      text = dirs.text[id];
    }
    out.ids.push_back(id);
    planned_by_id[id] = &run.hparams;
    insert.bind(1, id).bind(2, text).bind(3, run.cost).run();
  }
  return planned_by_id;
}

std::vector<RawRow> read_all_rows(sqlite3* db) {
  std::vector<RawRow> rows;
  Statement all(db, fmt::format("SELECT {} FROM runs", kColumns).c_str());
  while (all.step()) rows.push_back(read_raw(all));
  return rows;
}

// The updates plan() makes to a row, prepared once for all rows.
struct PlanStatements {
  explicit PlanStatements(sqlite3* db)
      : set_hparams(db, "UPDATE runs SET hparams=? WHERE id=?"),
        drop(db, "DELETE FROM runs WHERE id=?"),
        to_finished(db, "UPDATE runs SET status=?, result=?, test_error=?, wall_s=?, message='', owner_pid=0, job='' WHERE id=?"),
        to_failed(db, "UPDATE runs SET status='failed', result='', test_error=NULL, message=?, owner_pid=0, job='' WHERE id=?"),
        to_pending(db, "UPDATE runs SET status='pending', result='', test_error=NULL, message=?, owner_pid=0, job='' WHERE id=?") {}
  Statement set_hparams, drop, to_finished, to_failed, to_pending;
};

// A row's configuration, repaired in the index from its directory or the plan when the index's text
// does not hash to its id; none (and the row dropped) when nothing says what it is.
std::optional<Hparams> repair_hparams(const RawRow& row, const fs::path& run_dir, const Hparams* planned,
                                      PlanStatements& statements, Store::PlanOutcome& out) {
  const auto& id = row.record.id;
  std::string source;
  auto hparams = trusted_hparams(id, row.hparams_text, run_dir, planned, &source);
  if (!hparams) {
    out.warnings.push_back(fmt::format("index row {} holds hyperparameters that do not hash to its id, and no run "
                                       "directory or spec says what it is: dropped from the index",
                                       id));
    statements.drop.bind(1, id).run();
    return std::nullopt;
  }
  if (source != "index") {
    out.warnings.push_back(fmt::format("index row {} held hyperparameters that do not hash to its id: repaired from {}",
                                       id, source));
    statements.set_hparams.bind(1, hparams->to_yaml()).bind(2, id).run();
  }
  return hparams;
}

// A row's status settled by what its directory holds: a finished directory is the truth; a failure
// is recorded (unless failed runs are retried); otherwise a run that must run again is pending, with why.
void settle_status(const RawRow& row, std::optional<RunStatus> status, const RunDirState& state,
                   const std::string& set_aside, bool retry_failed, PlanStatements& statements) {
  const auto& id = row.record.id;
  bool recorded_finished = status == RunStatus::done || status == RunStatus::diverged;
  if (state.kind == RunDirState::finished) {
    if (state.status != status) record_finished(statements.to_finished, state, id);
  } else if (!status && state.kind == RunDirState::failed && !retry_failed) {
    statements.to_failed.bind(1, state.reason).bind(2, id).run();
  } else if (!set_aside.empty() || !status || status == RunStatus::running || recorded_finished ||
             (retry_failed && status == RunStatus::failed)) {
    // (running here: its owner is gone, so the next claimer restarts it anyway)
    if (status == RunStatus::running && set_aside.empty()) return;
    std::string why = !set_aside.empty()                         ? set_aside
                      : !status                                  ? "unknown status '" + row.status_text + "' in the index"
                      : state.kind == RunDirState::corrupt       ? "previous result discarded: " + state.reason
                      : recorded_finished                        ? "previous result missing"
                                                                 : "retrying after failure";
    statements.to_pending.bind(1, why).bind(2, id).run();
  }
}

}  // namespace

Store::PlanOutcome Store::plan(const std::vector<Planned>& runs, bool retry_failed) {
  if (read_only()) throw std::logic_error("store: plan() on a read-only store");
  Transaction t(db_);
  PlanOutcome out;

  // The directories first: which configuration each holds.
  RunDirectories dirs = scan_run_directories(dir_ / "runs");
  const std::map<std::string, const Hparams*> planned_by_id = insert_planned(db_, runs, dirs, out);
  // Read the status before looking at the directory, inside the write lock: an owner writes
  // result.json before it records `done`, so a `done` read here always finds its result.json.
  const std::vector<RawRow> rows = read_all_rows(db_);
  PlanStatements statements(db_);
  for (const auto& row : rows) {
    const auto& id = row.record.id;
    auto status = known_status(row.status_text);
    if (status == RunStatus::running &&
        owner_alive(row.record.owner_pid, row.record.owner_host, row.record.owner_start, row.heartbeat, row.record.job))
      continue;  // its owner settles it
    auto planned = planned_by_id.find(id);
    auto hparams = repair_hparams(row, run_dir(id), planned == planned_by_id.end() ? nullptr : planned->second,
                                  statements, out);
    if (!hparams) continue;
    std::string set_aside;
    if (auto why = foreign_reason(run_dir(id), id); !why.empty()) {
      auto to = quarantine(id);
      set_aside = fmt::format("{}: moved to {}; run again", why, to.string());
      out.warnings.push_back(fmt::format("run {}: {}", id, set_aside));
    }
    settle_status(row, status, inspect_run_dir(run_dir(id), *hparams), set_aside, retry_failed, statements);
  }
  t.commit();
  return out;
}

std::optional<RunRecord> Store::claim(const std::set<std::string>* among) {
  if (read_only()) throw std::logic_error("store: claim() on a read-only store");
  Transaction t(db_);
  std::optional<RunRecord> claimed;
  std::vector<RawRow> candidates;
  {
    Statement s(db_, fmt::format("SELECT {} FROM runs WHERE status IN ('pending','running') ORDER BY cost, id",
                                 kColumns).c_str());
    while (s.step())
      if (!among || among->count(s.text(0))) candidates.push_back(read_raw(s));
  }
  for (auto& row : candidates) {
    RunRecord& r = row.record;
    r.status = row.status_text == "running" ? RunStatus::running : RunStatus::pending;
    if (r.status == RunStatus::running && owner_alive(r.owner_pid, r.owner_host, r.owner_start, row.heartbeat, r.job))
      continue;
    // Only a configuration that names the run's id is ever run in its directory (plan repairs rows).
    auto hparams = trusted_hparams(r.id, row.hparams_text, run_dir(r.id), nullptr);
    if (!hparams) continue;
    r.hparams = *hparams;
    // A run whose owner died after its worker finished keeps its result: record it, do not rerun.
    if (foreign_reason(run_dir(r.id), r.id).empty()) {
      auto state = inspect_run_dir(run_dir(r.id), r.hparams);
      if (state.kind == RunDirState::finished) {
        Statement s(db_, "UPDATE runs SET status=?, result=?, test_error=?, wall_s=?, owner_pid=0, job='' WHERE id=?");
        record_finished(s, state, r.id);
        continue;
      }
    }
    claimed = std::move(r);
    break;
  }
  if (claimed) {
    double now = now_seconds();
    Statement s(db_,
                "UPDATE runs SET status='running', owner_pid=?, owner_host=?, owner_start=?, heartbeat=?, started_at=?, "
                "attempts=attempts+1, job='' WHERE id=?");
    s.bind(1, pid_).bind(2, host_).bind(3, static_cast<long>(start_)).bind(4, now).bind(5, now).bind(6, claimed->id).run();
    claimed->status = RunStatus::running;
    claimed->attempts += 1;
    claimed->owner_pid = pid_;
    claimed->owner_host = host_;
    claimed->owner_start = start_;
    claimed->job.clear();
  }
  t.commit();
  return claimed;
}

std::string Store::prepare(const RunRecord& run, std::string* note) {
  auto dir = run_dir(run.id);
  if (!run.hparams.names(run.id))
    throw std::logic_error(fmt::format("store: refusing to write another configuration into {}", dir.string()));
  if (auto why = foreign_reason(dir, run.id); !why.empty()) {
    auto to = quarantine(run.id);
    if (note) *note = fmt::format("{}: moved to {}", why, to.string());
  }
  prepare_run_dir(dir, run.hparams);
  auto token = fmt::format("host={} pid={} start={} attempt={}", host_, pid_, start_, run.attempts);
  write_file_atomic(dir / kClaimFile, token + "\n");
  return token;
}

std::set<std::string> Store::heartbeat() {
  Transaction t(db_);
  Statement s(db_, "UPDATE runs SET heartbeat=? WHERE status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, now_seconds()).bind(2, pid_).bind(3, host_).run();
  std::set<std::string> owned;
  Statement q(db_, "SELECT id FROM runs WHERE status='running' AND owner_pid=? AND owner_host=?");
  q.bind(1, pid_).bind(2, host_);
  while (q.step()) owned.insert(q.text(0));
  t.commit();
  return owned;
}

void Store::finish(const std::string& id, RunStatus status, const nlohmann::json& result, const std::string& message,
                   double wall_s) {
  Statement s(db_,
              "UPDATE runs SET status=?, result=?, test_error=?, message=?, wall_s=?, finished_at=?, owner_pid=0, job='' "
              "WHERE id=? AND status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, std::string(to_string(status))).bind(2, result.is_null() ? std::string() : result.dump());
  s.bind(3, result_test_error(result));
  s.bind(4, message).bind(5, wall_s).bind(6, now_seconds()).bind(7, id).bind(8, pid_).bind(9, host_).run();
}

void Store::release(const std::string& id) {
  Statement s(db_,
              "UPDATE runs SET status='pending', owner_pid=0, job='', message='stopped before it finished' "
              "WHERE id=? AND status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, id).bind(2, pid_).bind(3, host_).run();
}

void Store::place(const std::string& id, const std::string& job) {
  Statement s(db_, "UPDATE runs SET job=? WHERE id=? AND status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, job).bind(2, id).bind(3, pid_).bind(4, host_).run();
}

std::vector<RunRecord> Store::adopt(const std::set<std::string>* among) {
  if (read_only()) throw std::logic_error("store: adopt() on a read-only store");
  Transaction t(db_);
  std::vector<RunRecord> adopted;
  std::vector<RawRow> rows;
  {
    Statement s(db_, fmt::format("SELECT {} FROM runs WHERE status='running' AND job != '' ORDER BY cost, id", kColumns)
                         .c_str());
    while (s.step())
      if (!among || among->count(s.text(0))) rows.push_back(read_raw(s));
  }
  Statement take(db_, "UPDATE runs SET owner_pid=?, owner_host=?, owner_start=?, heartbeat=? WHERE id=?");
  for (auto& row : rows) {
    RunRecord& r = row.record;
    // A live sweep follows its own tasks; a task that ended is reclaimed (and rerun) by claim().
    if (process_alive(r.owner_pid, r.owner_host, r.owner_start, row.heartbeat)) continue;
    if (job_alive_ && !job_alive_(r.job)) continue;
    auto hparams = trusted_hparams(r.id, row.hparams_text, run_dir(r.id), nullptr);
    if (!hparams) continue;
    r.hparams = *hparams;
    r.status = RunStatus::running;
    take.bind(1, pid_).bind(2, host_).bind(3, static_cast<long>(start_)).bind(4, now_seconds()).bind(5, r.id).run();
    r.owner_pid = pid_;
    r.owner_host = host_;
    r.owner_start = start_;
    adopted.push_back(std::move(r));
  }
  t.commit();
  return adopted;
}

std::vector<RunRecord> Store::runs() const {
  std::vector<RunRecord> out;
  Statement s(db_, fmt::format("SELECT {} FROM runs ORDER BY cost, id", kColumns).c_str());
  while (s.step()) {
    auto row = read_raw(s);
    RunRecord& r = row.record;
    // Never on the index's word alone: a row that does not say what it is, or says it oddly, is read
    // from its directory (a sweep or `results --rebuild` writes the repair back).
    auto hparams = trusted_hparams(r.id, row.hparams_text, run_dir(r.id), nullptr);
    if (!hparams) continue;
    r.hparams = *hparams;
    if (auto status = known_status(row.status_text)) {
      r.status = *status;
    } else {
      auto state = inspect_run_dir(run_dir(r.id), r.hparams);
      r.status = directory_status(state);
      r.result = state.kind == RunDirState::finished ? state.result : nlohmann::json();
      r.message = "unknown status '" + row.status_text + "' in the index: read from the directory";
    }
    out.push_back(std::move(r));
  }
  return out;
}

void Store::rebuild() {
  if (read_only()) throw std::logic_error("store: rebuild() on a read-only store");
  Transaction t(db_);
  index_directories();
  t.commit();
}

void Store::index_directories() {
  std::vector<std::string> seen;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "runs", ec)) {
    if (!entry.is_directory(ec)) continue;  // stray files under runs/ are nobody's run
    auto id = entry.path().filename().string();
    Hparams h;
    try {
      h = Hparams::read(entry.path() / "hparams.yaml");
    } catch (const std::exception&) {
      continue;  // no readable configuration: nothing to index; a sweep that plans it starts it afresh
    }
    if (!h.names(id)) continue;  // renamed or edited by hand: not this configuration's directory
    seen.push_back(id);
    {
      Statement cur(db_, "SELECT status, owner_pid, owner_host, heartbeat, owner_start, job FROM runs WHERE id=?");
      cur.bind(1, id);
      if (cur.step() && cur.text(0) == "running" &&
          owner_alive(cur.integer(1), cur.text(2), static_cast<long long>(cur.integer(4)), cur.real(3), cur.text(5)))
        continue;
    }
    auto state = inspect_run_dir(entry.path(), h);
    RunStatus status = directory_status(state);
    Statement s(db_,
                "INSERT INTO runs(id, hparams, status, result, test_error, wall_s, message) VALUES(?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET hparams=excluded.hparams, status=excluded.status, "
                "result=excluded.result, test_error=excluded.test_error, wall_s=excluded.wall_s, "
                "message=excluded.message, owner_pid=0, job=''");
    s.bind(1, id).bind(2, h.to_yaml()).bind(3, std::string(to_string(status)))
        .bind(4, state.result.is_null() ? std::string() : state.result.dump());
    s.bind(5, result_test_error(state.result));
    s.bind(6, result_wall(state.result)).bind(7, state.kind == RunDirState::finished ? std::string() : state.reason).run();
  }
  {
    std::vector<std::string> stale;
    Statement ids(db_, "SELECT id, status, owner_pid, owner_host, heartbeat, owner_start, job FROM runs");
    while (ids.step()) {
      bool claimed = ids.text(1) == "running" && owner_alive(ids.integer(2), ids.text(3),
                                                             static_cast<long long>(ids.integer(5)), ids.real(4), ids.text(6));
      // A live claim may not have its directory yet (it is made right after the claim commits).
      if (!claimed && std::find(seen.begin(), seen.end(), ids.text(0)) == seen.end()) stale.push_back(ids.text(0));
    }
    for (const auto& id : stale) Statement(db_, "DELETE FROM runs WHERE id=?").bind(1, id).run();
  }
}

}  // namespace scalelab
