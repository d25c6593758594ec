#include "check/check_service.h"

#include "decision/check_runner.h"

namespace gw::check {
namespace {

// Calls a query's Done exactly once: with the answer, or, when the query is dropped
// undecided (its coroutine destroyed with the io_context), with service_stopped_answer().
class AnswerOnce {
 public:
  explicit AnswerOnce(CheckService::Done done) : done_(std::move(done)) {}
  AnswerOnce(AnswerOnce&& other) noexcept : done_(std::exchange(other.done_, nullptr)) {}
  AnswerOnce& operator=(AnswerOnce&&) = delete;
  ~AnswerOnce() {
    if (done_) done_(service_stopped_answer());
  }
  void operator()(decision::CheckAnswer answer) {
    std::exchange(done_, nullptr)(std::move(answer));
  }

 private:
  CheckService::Done done_;
};

}  // namespace

decision::CheckAnswer service_stopped_answer() {
  decision::CheckAnswer answer;
  answer.refusal = decision::rate_limiter_unavailable();
  return answer;
}

CheckService::CheckService(const CheckDeps& deps) : deps_(deps) {}

CheckService::~CheckService() { stop(); }

void CheckService::start() {
  thread_ = std::thread([this] { io_.run(); });
}

void CheckService::stop() {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  // Queries still queued are answered now (decide() sees stopping_). One suspended on a
  // store round trip is answered when io_ is destroyed with it (its AnswerOnce).
  io_.restart();
  io_.poll();
}

decision::DecisionContext CheckService::context() const {
  const std::uint64_t version = deps_.running.version();
  const auto running = deps_.running.current();
  return decision::DecisionContext{running->shared_policy(), version, running->decision()};
}

std::optional<decision::CheckAnswer> CheckService::decide_now(const decision::CheckQuery& query) {
  return decision::run_check_now(decider_, query, context(), deps_.clock.now());
}

void CheckService::submit(decision::CheckQuery query, Done done) {
  net::co_spawn(io_, decide(std::move(query), std::move(done)), net::detached);
}

net::awaitable<void> CheckService::decide(decision::CheckQuery query, Done done) {
  AnswerOnce answer(std::move(done));
  if (stopping_.load(std::memory_order_acquire)) co_return;  // answered 503 by AnswerOnce
  // A named context, moved in: passed as a prvalue straight into run_check(), GCC 12's
  // code released its policy twice (valgrind, CheckServiceTest).
  decision::DecisionContext context = this->context();
  decision::CheckAnswer decided = co_await decision::run_check(
      decider_, std::move(query), std::move(context), deps_.clock.now());
  answer(std::move(decided));
}

}  // namespace gw::check
