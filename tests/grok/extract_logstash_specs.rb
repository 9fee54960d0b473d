# Extract Logstash's grok spec cases into data our conformance test replays.
#
#   ruby tests/grok/extract_logstash_specs.rb MIRROR_GIT_DIR REPO_NAME SPEC_PATH... > out.json
#
# MIRROR_GIT_DIR is a bare clone (e.g. the one the `fetch` tool brings to /work/.mirror); the spec
# files are read from its HEAD with `git show`. Nothing of Logstash runs here: the spec files are
# evaluated against a tiny recording stand-in for RSpec, LogStash::Filters::Grok and LogStash::Event.
# Every grok run becomes a symbolic value; every `expect(...)` on it is written down as one check
# (the grok config, the event, the ECS mode, the access path and the matcher), to be evaluated
# against our engine by tests/grok/test_logstash_specs.py. Examples that use something the stand-in
# does not model are listed under "not_extracted" with the reason, never silently dropped.
#
# Only Ruby's standard library is used (Ruby 3.x).
require "json"
require "open3"

module Recorder
  @checks = []
  @skipped = []
  class << self
    attr_accessor :checks, :skipped, :current
  end
end

# A grok run: config + event data + ECS mode. Accessing it builds a path (evaluated later, in Python).
class Symbolic
  attr_reader :run, :path

  def initialize(run, path = [])
    @run = run
    @path = path
  end

  def step(*op) = Symbolic.new(@run, @path + [op])
  def to_hash = step("to_hash")
  def to_h = step("to_hash")
  def get(ref) = step("get", ref)
  def [](key) = step("[]", key)
  def keys = step("keys")
  def to_s = step("to_s")
  def to_i = step("to_i")
  def include?(key) = step("include?", key)
  def size = step("size")
  def length = step("size")
  def first = step("[]", 0)
  def last = step("[]", -1)

  def method_missing(name, *args)
    raise NotImplementedError, "symbolic result: unsupported method #{name}(#{args.inspect[0, 60]})"
  end

  def respond_to_missing?(*) = false
end

# hash_including(...) and friends, serialised with a "$" marker.
class Wrapped
  def initialize(kind, value)
    @kind = kind
    @value = value
  end

  def to_json(*args) = { "$#{@kind}" => @value }.to_json(*args)
end

class Matcher
  attr_reader :name, :args

  def initialize(name, *args)
    @name = name
    @args = args
  end
end

module LogStash
  class Event
    def initialize(data = {})
      @data = data
      @run = nil
    end

    attr_accessor :run
    attr_reader :data

    %i[get to_hash to_h include? []].each do |name|
      define_method(name) do |*args|
        raise NotImplementedError, "event used before grok ran" unless @run

        Symbolic.new(@run).public_send(name, *args)
      end
    end
  end

  module Filters
    class Grok
      def initialize(config = {})
        @config = config
      end

      def register = self

      def filter(event)
        mode = Recorder.current&.ecs_mode
        event.run = { "config" => @config, "event" => event.data, "ecs_compatibility" => mode }
        event
      end

      def method_missing(name, *_args)
        raise NotImplementedError, "grok filter stand-in: unsupported method #{name}"
      end

      def respond_to_missing?(*) = false
    end
  end
end

# ---- a minimal RSpec: groups are classes, `let` defines memoised methods, examples run in instances
class ExampleGroup
  class << self
    attr_accessor :description_args, :parent_group, :examples, :befores, :children, :mode, :shared, :ecs_value

    def setup(parent, args)
      self.parent_group = parent
      self.description_args = args
      self.examples = []
      self.befores = []
      self.children = []
      self.shared = {}
    end

    def full_description
      parts = []
      group = self
      while group
        parts.unshift(group.description_args.map(&:to_s).join(" ")) if group.description_args
        group = group.parent_group
      end
      parts.join(" / ")
    end

    def group_mode
      group = self
      group = group.parent_group while group && group.mode.nil?
      group&.mode
    end

    def describe(*args, &block)
      child = Class.new(self)
      child.setup(self, args)
      children << child
      child.class_eval(&block) if block
      child
    end
    alias_method :context, :describe

    def let(name, &block)
      raw = "__let_#{name}"
      define_method(raw, &block) # a method, so that `super()` in an overriding let reaches the parent's
      define_method(name) do
        @memo ||= {}
        @memo.key?(name) ? @memo[name] : (@memo[name] = send(raw))
      end
    end
    alias_method :let!, :let

    def subject(name = nil, &block)
      let(:subject, &block)
      let(name, &block) if name
    end

    def before(*_args, &block) = befores << block
    def after(*_args, &_block) = nil
    def it(description = "", *_meta, &block) = examples << [description, block]
    def xit(description = "", *_meta, &_block) = examples << [description, :skipped_upstream]
    alias_method :specify, :it
    alias_method :example, :it

    def shared_examples_for(name, &block) = shared[name] = block
    alias_method :shared_examples, :shared_examples_for

    def find_shared(name)
      group = self
      group = group.parent_group while group && !group.shared.key?(name)
      group ? group.shared[name] : $top_shared[name]
    end

    def it_behaves_like(name, *args)
      block = find_shared(name)
      child = describe("behaves like #{name}")
      child.class_exec(*args, &block)
    end
    alias_method :include_examples, :it_behaves_like

    def described_class
      group = self
      while group
        first = group.description_args&.first
        return first if first.is_a?(Class)

        group = group.parent_group
      end
      nil
    end

    # logstash-plugin_mixins-ecs_compatibility_support's spec helper: one group per mode.
    def ecs_compatibility_matrix(*modes, &block)
      aliases = modes.last.is_a?(Hash) ? modes.pop : {}
      (modes + aliases.keys).each do |mode|
        effective = aliases.fetch(mode, mode)
        child = describe("ecs_compatibility => #{mode}")
        child.mode = effective == :disabled ? "disabled" : effective.to_s
        child.ecs_value = mode
        selector = EcsSelect.new(effective)
        child.let(:ecs_compatibility) { mode }
        child.class_exec(selector, &block)
      end
    end

    def all_befores
      chain = []
      group = self
      while group
        chain.unshift(*group.befores)
        group = group.parent_group
      end
      chain
    end
  end

  def described_class = self.class.described_class

  def subject
    @memo ||= {}
    return @memo[:subject] if @memo.key?(:subject)

    described = described_class || self.class.description_args&.first
    @memo[:subject] = described.is_a?(Class) ? described.new : described
  end

  def ecs_mode = self.class.group_mode

  # logstash-patterns-core's spec_helper (GrokHelpers)
  def ecs_compatibility
    case ecs_mode
    when nil then nil
    when "legacy", "disabled" then :disabled
    else :v1
    end
  end

  def ecs_compatibility? = ecs_compatibility.nil? ? nil : ecs_compatibility != :disabled
  def pattern_mode = ecs_mode

  def build_grok(label, exact_match = false)
    opts = { "match" => ["message", exact_match ? "^%{#{label}}$" : "%{#{label}}"] }
    LogStash::Filters::Grok.new(opts)
  end

  def build_event(message) = LogStash::Event.new("message" => message)

  def grok_match_event(label, message, exact_match = false)
    event = build_event(message)
    build_grok(label, exact_match).filter(event)
    event
  end

  def grok_match(label, message, exact_match = false) = grok_match_event(label, message, exact_match).to_hash
  def grok_exact_match(label, message) = grok_match(label, message, true)

  def expect(actual = nil, &block)
    raise NotImplementedError, "expect { block } is not modelled" if block

    Expectation.new(actual, self)
  end

  def have_key(key) = Matcher.new("have_key", key)
  def pending(*) = raise(NotImplementedError, "pending upstream")
  def should(matcher) = expect(subject).to(matcher)
  def should_not(matcher) = expect(subject).not_to(matcher)
  def is_expected = expect(subject)
  def include(*args) = Matcher.new("include", *args)
  def hash_including(*args) = Wrapped.new("hash_including", args.size == 1 ? args.first : args)
  def a_hash_including(*args) = hash_including(*args)
  def pass(*_args) = Matcher.new("pass")
  def match(value) = Matcher.new("match", value)
  def eq(value) = Matcher.new("eq", value)
  def eql(value) = Matcher.new("eq", value)
  def equal(value) = Matcher.new("eq", value)
  def be(value = true) = Matcher.new("eq", value)
  def be_nil = Matcher.new("eq", nil)
  def be_empty = Matcher.new("empty")
  def be_a(klass) = Matcher.new("type", klass.name)
  def be_kind_of(klass) = be_a(klass)
  def be_truthy = Matcher.new("truthy")
  def be_falsey = Matcher.new("falsey")
  def start_with(value) = Matcher.new("start_with", value)
  def end_with(value) = Matcher.new("end_with", value)
  def allow_any_instance_of(*) = Stub.new
  def allow(*) = Stub.new
  def receive(*) = Stub.new
  def insist = raise(NotImplementedError, "insist { } is not modelled")
end

class Stub
  def method_missing(*) = self
  def respond_to_missing?(*) = true
end

class EcsSelect
  def initialize(mode)
    @mode = mode
  end

  def [](choices)
    key = choices.key?(@mode) ? @mode : choices.keys.find { |k| k.to_s == @mode.to_s }
    raise NotImplementedError, "ecs_select without #{@mode}" unless key

    choices[key]
  end

  def active_mode = @mode
end

class Expectation
  def initialize(actual, example)
    @actual = actual
    @example = example
  end

  def to(matcher = nil, *_) = record(matcher, false)
  def not_to(matcher = nil, *_) = record(matcher, true)
  alias_method :to_not, :not_to

  def record(matcher, negated)
    raise NotImplementedError, "operator matchers (expect(x).to ==) are not modelled" if matcher.nil?

    @actual = Symbolic.new(@actual.run) if @actual.is_a?(LogStash::Event) && @actual.run
    if @actual.is_a?(Symbolic)
      run = @actual.run
      path = @actual.path
    elsif matcher.name == "match" && @actual.is_a?(String)
      # expect("PATTERN").to match(value): grok the value with %{PATTERN}
      event = @example.grok_match_event(@actual, matcher.args.first)
      run = event.run
      path = []
      matcher = Matcher.new("pass")
    else
      raise NotImplementedError, "expect() on a plain value #{@actual.inspect[0, 60]}"
    end
    Recorder.current_checks << { "path" => path, "matcher" => matcher.name, "args" => matcher.args,
                                 "negated" => negated, "run" => run }
  end
end

module Recorder
  class << self
    attr_accessor :current_checks
  end
end

$top_shared = {}
# patterns-core's spec_helper: the event may only use these top-level keys (besides internal ones)
$top_shared["top-level namespaces"] = proc do |namespaces, opts|
  it "event is expected to only use namespaces: #{namespaces.inspect}" do
    condition = (opts || {})[:if] || -> { true }
    raise NotImplementedError, "namespace check not applicable in this mode" unless instance_exec(&condition)

    allowed = ["@timestamp", "@version", "message"] + namespaces
    expect(subject.to_hash).to Matcher.new("only_keys", allowed)
  end
end
$top_groups = []
$group_errors = []

def describe(*args, &block)
  group = Class.new(ExampleGroup)
  group.setup(nil, args)
  begin
    group.class_eval(&block) if block
    $top_groups << group
  rescue NotImplementedError, NoMethodError, NameError => e
    $group_errors << { "example" => "#{group.full_description} (whole group)", "reason" => e.message.lines.first.strip }
  end
  group
end

# patterns-core's spec_helper: one group per pattern mode
def describe_pattern(name, pattern_modes = [nil], &block)
  pattern_modes.each do |mode|
    group = describe("#{name}#{mode ? " (#{mode})" : ""}") do
      let(:pattern) { name }
      let(:message) { raise NotImplementedError, "let(:message) missing" }
      let(:event) { grok_match_event(pattern, message) }
      let(:grok) { event.to_hash }
      subject(:grok_result) { grok }
      instance_eval(&block)
    end
    group.mode = mode
  end
end

module RSpec
  def self.describe(*args, &block) = Kernel.send(:describe, *args, &block)
  def self.shared_examples_for(name, &block) = $top_shared[name] = block
  def self.configure = nil
end

def shared_examples_for(name, &block) = $top_shared[name] = block

def run_group(group, file, out)
  instance_class = group
  group.examples.each do |description, block|
    example = instance_class.new
    Recorder.current = example
    Recorder.current_checks = []
    name = "#{group.full_description} / #{description}"
    begin
      raise NotImplementedError, "skipped upstream (xit)" if block == :skipped_upstream

      group.all_befores.each { |before| example.instance_exec(&before) }
      example.instance_exec(&block) if block
      raise NotImplementedError, "no expectation recorded" if Recorder.current_checks.empty?

      runs = Recorder.current_checks.map { |check| check["run"] }.uniq
      checks = Recorder.current_checks.map { |check| check.merge("run" => runs.index(check["run"])) }
      out[:cases] << { "file" => file, "example" => name, "ecs_compatibility" => example.ecs_mode,
                       "runs" => runs, "checks" => checks }
    rescue NotImplementedError, NoMethodError, NameError, ArgumentError, TypeError => e
      out[:not_extracted] << { "file" => file, "example" => name, "reason" => e.message.lines.first.strip }
    end
  end
  group.children.each { |child| run_group(child, file, out) }
end

mirror, repo, *paths = ARGV
abort "usage: ruby #{$PROGRAM_NAME} MIRROR_GIT_DIR REPO_NAME SPEC_PATH..." if paths.empty?
commit = `git -C #{mirror} rev-parse HEAD`.strip
out = { cases: [], not_extracted: [] }
paths.each do |path|
  source, status = Open3.capture2("git", "-C", mirror, "show", "HEAD:#{path}")
  abort "cannot read #{path}" unless status.success?
  source = source.gsub(/^\s*require(_relative)? .*$/, "")
  $top_groups = []
  eval(source, TOPLEVEL_BINDING, path, 1) # rubocop:disable Security/Eval -- spec files from the mirror
  $top_groups.each { |group| run_group(group, path, out) }
  $group_errors.each { |error| out[:not_extracted] << error.merge("file" => path) }
  $group_errors = []
end
puts JSON.pretty_generate({ "generated_by" => "tests/grok/extract_logstash_specs.rb", "source" => { "repository" => repo, "commit" => commit, "license" => "Apache-2.0",
                                          "files" => paths },
                            "cases" => out[:cases], "not_extracted" => out[:not_extracted] })
