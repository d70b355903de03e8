#include "store/store.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>

#include <fmt/core.h>

#include "table/table.h"

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

// One prepared statement; binds by position (1-based) and steps row by row.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(fmt::format("store: {} in: {}", sqlite3_errmsg(db), sql));
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
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // True while there is a row to read.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(fmt::format("store: {}", sqlite3_errmsg(db_)));
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
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(fmt::format("store: {}: {}", sql, msg));
    }
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
  heartbeat   REAL NOT NULL DEFAULT 0,
  started_at  REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0,
  wall_s      REAL NOT NULL DEFAULT 0,
  test_error  REAL,
  result      TEXT NOT NULL DEFAULT '',  -- result.json
  message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status, cost);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

const char* kColumns = "id, hparams, status, cost, attempts, result, message, wall_s, owner_pid, owner_host, heartbeat";

RunRecord read_record(const Statement& s) {
  RunRecord r;
  r.id = s.text(0);
  r.hparams = Hparams::from_yaml(s.text(1), "store.sqlite");
  r.status = parse_run_status(s.text(2));
  r.cost = s.real(3);
  r.attempts = static_cast<int>(s.integer(4));
  if (auto result = s.text(5); !result.empty()) r.result = nlohmann::json::parse(result, nullptr, false);
  r.message = s.text(6);
  r.wall_s = s.real(7);
  r.owner_pid = s.integer(8);
  r.owner_host = s.text(9);
  return r;
}

double result_wall(const nlohmann::json& result) {
  return result.contains("wall_s") && result["wall_s"].is_number() ? result["wall_s"].get<double>() : 0.0;
}

}  // namespace

Store::Store(const fs::path& sweep_dir) : dir_(sweep_dir), host_(hostname()), pid_(static_cast<long>(getpid())) {
  fs::create_directories(dir_ / "runs");
  auto db_path = dir_ / "store.sqlite";
  if (sqlite3_open(db_path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error(fmt::format("cannot open {}: {}", db_path.string(), msg));
  }
  // Measured: with a timeout >= 5 s concurrent writers lose nothing; without one most writes fail.
  sqlite3_busy_timeout(db_, 30000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  {
    // Under the write lock, so of several processes opening a new store only the first fills it:
    // a second rebuild would drop the rows the first has claimed but not yet given a directory.
    Transaction t(db_);
    exec(kSchema);
    bool created = Statement(db_, "SELECT value FROM meta WHERE key='created'").step();
    if (!created) {
      index_directories();
      Statement(db_, "INSERT INTO meta(key, value) VALUES('created', datetime('now'))").run();
    }
    t.commit();
  }
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(fmt::format("store: {}", msg));
  }
}

bool Store::owner_alive(long pid, const std::string& host, double heartbeat) const {
  if (now_seconds() - heartbeat > lease_seconds) return false;
  if (host != host_) return true;  // only its lease can tell
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

void Store::plan(const std::vector<Planned>& runs, bool retry_failed) {
  Transaction t(db_);
  {
    Statement insert(db_,
                     "INSERT INTO runs(id, hparams, status, cost) VALUES(?, ?, 'pending', ?) "
                     "ON CONFLICT(id) DO UPDATE SET cost = excluded.cost");
    for (const auto& run : runs) {
      Statement& s = insert.bind(1, run.hparams.hash()).bind(2, run.hparams.to_yaml()).bind(3, run.cost);
      s.run();
    }
  }
  // Read the status before looking at the directory, inside the write lock: an owner writes
  // result.json before it records `done`, so a `done` read here always finds its result.json.
  struct Row {
    std::string id, hparams;
    RunStatus status;
  };
  std::vector<Row> rows;  // read first: rows are updated below, and SQLite forbids nothing but promises little
  {
    Statement all(db_, "SELECT id, hparams, status FROM runs");
    while (all.step()) rows.push_back({all.text(0), all.text(1), parse_run_status(all.text(2))});
  }
  Statement to_finished(db_, "UPDATE runs SET status=?, result=?, test_error=?, wall_s=?, message='' WHERE id=?");
  Statement to_pending(db_, "UPDATE runs SET status='pending', result='', test_error=NULL, message=? WHERE id=?");
  for (const auto& [id, hparams, status] : rows) {
    if (status == RunStatus::running) continue;  // its owner, or the next claimer, settles it
    auto state = inspect_run_dir(run_dir(id), Hparams::from_yaml(hparams, "store.sqlite"));
    bool recorded_finished = status == RunStatus::done || status == RunStatus::diverged;
    if (state.kind == RunDirState::finished) {
      if (state.status != status) {
        const auto& r = state.result;
        auto err = r.contains("test_error") && r["test_error"].is_number() ? r["test_error"].get<double>() : 0.0;
        to_finished.bind(1, std::string(to_string(state.status))).bind(2, r.dump()).bind(3, err)
            .bind(4, result_wall(r)).bind(5, id).run();
      }
    } else if (recorded_finished || (retry_failed && status == RunStatus::failed)) {
      std::string why = state.kind == RunDirState::corrupt ? "previous result discarded: " + state.reason
                        : recorded_finished                ? "previous result missing"
                                                           : "retrying after failure";
      to_pending.bind(1, why).bind(2, id).run();
    }
  }
  t.commit();
}

std::optional<RunRecord> Store::claim(const std::set<std::string>* among) {
  Transaction t(db_);
  std::optional<RunRecord> claimed;
  std::vector<std::pair<RunRecord, double>> candidates;  // with heartbeat
  {
    Statement s(db_, fmt::format("SELECT {} FROM runs WHERE status IN ('pending','running') ORDER BY cost, id",
                                 kColumns).c_str());
    while (s.step())
      if (!among || among->count(s.text(0))) candidates.emplace_back(read_record(s), s.real(10));
  }
  {
    for (auto& [r, heartbeat] : candidates) {
      if (r.status == RunStatus::running && owner_alive(r.owner_pid, r.owner_host, heartbeat)) continue;
      // A run whose owner died after its worker finished keeps its result: record it, do not rerun.
      auto state = inspect_run_dir(run_dir(r.id), r.hparams);
      if (state.kind == RunDirState::finished) {
        Statement s(db_, "UPDATE runs SET status=?, result=?, test_error=?, wall_s=?, owner_pid=0 WHERE id=?");
        const auto& res = state.result;
        auto err = res.contains("test_error") && res["test_error"].is_number() ? res["test_error"].get<double>() : 0.0;
        s.bind(1, std::string(to_string(state.status))).bind(2, res.dump()).bind(3, err).bind(4, result_wall(res))
            .bind(5, r.id).run();
        continue;
      }
      claimed = std::move(r);
      break;
    }
  }
  if (claimed) {
    double now = now_seconds();
    Statement s(db_,
                "UPDATE runs SET status='running', owner_pid=?, owner_host=?, heartbeat=?, started_at=?, "
                "attempts=attempts+1 WHERE id=?");
    s.bind(1, pid_).bind(2, host_).bind(3, now).bind(4, now).bind(5, claimed->id).run();
    claimed->status = RunStatus::running;
    claimed->attempts += 1;
    claimed->owner_pid = pid_;
    claimed->owner_host = host_;
  }
  t.commit();
  return claimed;
}

void Store::heartbeat() {
  Statement s(db_, "UPDATE runs SET heartbeat=? WHERE status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, now_seconds()).bind(2, pid_).bind(3, host_).run();
}

void Store::finish(const std::string& id, RunStatus status, const nlohmann::json& result, const std::string& message,
                   double wall_s) {
  Statement s(db_,
              "UPDATE runs SET status=?, result=?, test_error=?, message=?, wall_s=?, finished_at=?, owner_pid=0 "
              "WHERE id=? AND status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, std::string(to_string(status))).bind(2, result.is_null() ? std::string() : result.dump());
  if (result.contains("test_error") && result["test_error"].is_number())
    s.bind(3, result["test_error"].get<double>());
  else
    s.bind_null(3);
  s.bind(4, message).bind(5, wall_s).bind(6, now_seconds()).bind(7, id).bind(8, pid_).bind(9, host_).run();
}

void Store::release(const std::string& id) {
  Statement s(db_,
              "UPDATE runs SET status='pending', owner_pid=0, message='stopped before it finished' "
              "WHERE id=? AND status='running' AND owner_pid=? AND owner_host=?");
  s.bind(1, id).bind(2, pid_).bind(3, host_).run();
}

std::vector<RunRecord> Store::runs() const {
  std::vector<RunRecord> out;
  Statement s(db_, fmt::format("SELECT {} FROM runs ORDER BY cost, id", kColumns).c_str());
  while (s.step()) out.push_back(read_record(s));
  return out;
}

void Store::rebuild() {
  Transaction t(db_);
  index_directories();
  t.commit();
}

void Store::index_directories() {
  std::vector<std::string> seen;
  for (const auto& entry : fs::directory_iterator(dir_ / "runs")) {
    if (!entry.is_directory()) continue;
    auto id = entry.path().filename().string();
    Hparams h;
    try {
      h = Hparams::read(entry.path() / "hparams.yaml");
    } catch (const std::exception&) {
      continue;  // no readable configuration: nothing to index; a sweep that plans it starts it afresh
    }
    if (h.hash() != id) continue;  // renamed or edited by hand: not this configuration's directory
    seen.push_back(id);
    {
      Statement cur(db_, "SELECT status, owner_pid, owner_host, heartbeat FROM runs WHERE id=?");
      cur.bind(1, id);
      if (cur.step() && cur.text(0) == "running" && owner_alive(cur.integer(1), cur.text(2), cur.real(3))) continue;
    }
    auto state = inspect_run_dir(entry.path(), h);
    RunStatus status = state.kind == RunDirState::finished ? state.status
                       : state.kind == RunDirState::failed ? RunStatus::failed
                                                           : RunStatus::pending;
    Statement s(db_,
                "INSERT INTO runs(id, hparams, status, result, test_error, wall_s, message) VALUES(?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET hparams=excluded.hparams, status=excluded.status, "
                "result=excluded.result, test_error=excluded.test_error, wall_s=excluded.wall_s, "
                "message=excluded.message, owner_pid=0");
    s.bind(1, id).bind(2, h.to_yaml()).bind(3, std::string(to_string(status)))
        .bind(4, state.result.is_null() ? std::string() : state.result.dump());
    if (state.result.contains("test_error") && state.result["test_error"].is_number())
      s.bind(5, state.result["test_error"].get<double>());
    else
      s.bind_null(5);
    s.bind(6, result_wall(state.result)).bind(7, state.kind == RunDirState::finished ? std::string() : state.reason).run();
  }
  {
    std::vector<std::string> stale;
    Statement ids(db_, "SELECT id, status, owner_pid, owner_host, heartbeat FROM runs");
    while (ids.step()) {
      bool claimed = ids.text(1) == "running" && owner_alive(ids.integer(2), ids.text(3), ids.real(4));
      // A live claim may not have its directory yet (it is made right after the claim commits).
      if (!claimed && std::find(seen.begin(), seen.end(), ids.text(0)) == seen.end()) stale.push_back(ids.text(0));
    }
    for (const auto& id : stale) Statement(db_, "DELETE FROM runs WHERE id=?").bind(1, id).run();
  }
}

}  // namespace scalelab
