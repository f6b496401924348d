#include "proto/convert.h"

#include <grpcpp/support/status.h>

namespace gridsearch {

void ToProto(const JobSpec& in, v1::Job* out) {
  out->set_job_id(in.job_id);
  out->set_sweep_id(in.sweep_id);
  out->set_attempt(in.attempt);
  out->set_optimizer(in.optimizer);
  for (const auto& [k, v] : in.params) (*out->mutable_params())[k] = v;
  out->set_seed(in.seed);
  out->set_model(in.model);
  out->mutable_dataset()->set_name(in.dataset.name);
  out->mutable_dataset()->set_path(in.dataset.path);
  out->mutable_dataset()->set_train_size(in.dataset.train_size);
  out->mutable_dataset()->set_augment(in.dataset.augment);
  out->set_batch_size(in.batch_size);
  out->set_budget_seconds(in.budget_seconds);
  out->set_decay_steps(in.decay_steps);
  out->set_dropout(in.dropout);
  out->set_params_json(in.params_json);
  if (in.program.present()) {
    v1::Program* program = out->mutable_program();
    for (const auto& word : in.program.command) program->add_command(word);
    program->set_workdir(in.program.workdir);
    for (const auto& [k, v] : in.program.env) (*program->mutable_env())[k] = v;
    program->set_setup_timeout_seconds(in.program.setup_timeout_seconds);
    program->set_eval_timeout_seconds(in.program.eval_timeout_seconds);
  }
}

JobSpec FromProto(const v1::Job& in) {
  JobSpec out;
  out.job_id = in.job_id();
  out.sweep_id = in.sweep_id();
  out.attempt = in.attempt();
  out.optimizer = in.optimizer();
  for (const auto& [k, v] : in.params()) out.params[k] = v;
  out.seed = in.seed();
  out.model = in.model();
  out.dataset.name = in.dataset().name();
  out.dataset.path = in.dataset().path();
  out.dataset.train_size = in.dataset().train_size();
  out.dataset.augment = in.dataset().augment();
  out.batch_size = in.batch_size();
  out.budget_seconds = in.budget_seconds();
  out.decay_steps = in.decay_steps();
  out.params_json = in.params_json();
  if (in.has_program()) {
    const v1::Program& program = in.program();
    out.program.command.assign(program.command().begin(), program.command().end());
    out.program.workdir = program.workdir();
    for (const auto& [k, v] : program.env()) out.program.env[k] = v;
    out.program.setup_timeout_seconds = program.setup_timeout_seconds();
    out.program.eval_timeout_seconds = program.eval_timeout_seconds();
  }
  out.dropout = in.dropout();
  return out;
}

void ToProto(const CurvePoint& in, v1::CurvePoint* out) {
  out->set_elapsed_seconds(in.elapsed_seconds);
  out->set_step(in.step);
  out->set_epoch(in.epoch);
  out->set_loss(in.loss);
  out->set_learning_rate(in.learning_rate);
}

CurvePoint FromProto(const v1::CurvePoint& in) {
  CurvePoint out;
  out.elapsed_seconds = in.elapsed_seconds();
  out.step = in.step();
  out.epoch = in.epoch();
  out.loss = in.loss();
  out.learning_rate = in.learning_rate();
  return out;
}

void ToProto(const JobResult& in, v1::JobMetrics* out) {
  out->set_diverged(in.diverged);
  out->set_setup_seconds(in.setup_seconds);
  out->set_train_seconds(in.train_seconds);
  out->set_eval_seconds(in.eval_seconds);
  out->set_steps(in.steps);
  out->set_epochs(in.epochs);
  out->set_final_train_loss(in.final_train_loss);
  out->set_log_loss_integral(in.log_loss_integral);
  out->set_test_loss(in.test_loss);
  out->set_test_accuracy(in.test_accuracy);
  out->set_device(in.device);
  out->set_software(in.software);
}

JobResult FromProto(const v1::JobMetrics& in) {
  JobResult out;
  out.diverged = in.diverged();
  out.setup_seconds = in.setup_seconds();
  out.train_seconds = in.train_seconds();
  out.eval_seconds = in.eval_seconds();
  out.steps = in.steps();
  out.epochs = in.epochs();
  out.final_train_loss = in.final_train_loss();
  out.log_loss_integral = in.log_loss_integral();
  out.test_loss = in.test_loss();
  out.test_accuracy = in.test_accuracy();
  out.device = in.device();
  out.software = in.software();
  return out;
}

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::OK();
  return Status(static_cast<Status::Code>(s.error_code()), s.error_message());
}

}  // namespace gridsearch
