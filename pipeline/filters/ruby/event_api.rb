# A small Logstash Event API and the worker loop of the ruby filter.
#
# Started by pipeline/filters/ruby/worker.py, one process per filter instance
# per busy pipeline worker. Protocol: JSON lines on the process' original
# stdin/stdout. The first line sets the filter up (inline code + init, or a
# script file + script_params); every later line is a batch of events and is
# answered by one line with each event's new data, cancellation, new events
# and error. User code's own stdout goes to stderr, which the Python side logs.
require 'json'
require 'time'
require 'date'
require 'digest'
require 'securerandom'
require 'set'
require 'socket'

PROTO_IN = STDIN.dup
PROTO_OUT = STDOUT.dup
STDIN.reopen(File::NULL)
STDOUT.reopen(STDERR)
$stdout = STDOUT
PROTO_IN.set_encoding('UTF-8')
PROTO_OUT.set_encoding('UTF-8')
PROTO_OUT.sync = true

module LogStash
  class Error < StandardError; end

  # Collects log lines; they travel back to Python with the batch answer.
  class Logger
    LEVELS = %w[trace debug info warn error fatal].freeze
    attr_reader :lines

    def initialize
      @lines = []
    end

    LEVELS.each do |level|
      define_method(level) do |message = nil, details = nil, &block|
        message = block.call if message.nil? && block
        text = message.to_s
        text += " #{details.inspect}" if details.is_a?(Hash) && !details.empty?
        @lines << [level, text]
        nil
      end
      define_method("#{level}?") { true }
    end

    def drain
      out = @lines
      @lines = []
      out
    end
  end

  # An instant, like LogStash::Timestamp: wraps a UTC Time.
  class Timestamp
    include Comparable
    attr_reader :time

    def initialize(time = Time.now)
      time = time.time if time.is_a?(Timestamp)
      time = time.to_time if time.is_a?(DateTime) || time.is_a?(Date)
      raise TypeError, "expected a Time, got #{time.class}" unless time.is_a?(Time)
      @time = time.getutc
    end

    def self.now
      new(Time.now)
    end

    def self.at(*args)
      new(Time.at(*args))
    end

    def self.from_millis(millis)
      new(Time.at(Rational(millis, 1000)))
    end

    def self.parse_iso8601(text)
      new(Time.iso8601(text.to_s))
    rescue ArgumentError
      new(Time.parse(text.to_s))
    end

    def self.coerce(value)
      case value
      when Timestamp then value
      when Time, DateTime, Date then new(value)
      when String then parse_iso8601(value)
      when Integer, Float then at(value)
      end
    rescue ArgumentError
      nil
    end

    def millis
      (@time.to_r * 1000).floor
    end

    def to_i = @time.to_i
    def to_f = @time.to_f
    def usec = @time.usec
    def nsec = @time.nsec
    def utc = self
    alias gmtime utc

    def to_iso8601
      @time.strftime('%Y-%m-%dT%H:%M:%S.%LZ')
    end
    alias to_s to_iso8601
    alias inspect to_iso8601

    def to_json(*args) = to_iso8601.to_json(*args)

    def <=>(other)
      other.is_a?(Timestamp) ? @time <=> other.time : nil
    end

    def -(other)
      other.is_a?(Timestamp) ? @time - other.time : Timestamp.new(@time - other)
    end

    def +(other) = Timestamp.new(@time + other)

    def method_missing(name, *args, &block)
      @time.respond_to?(name) ? @time.public_send(name, *args, &block) : super
    end

    def respond_to_missing?(name, include_private = false)
      @time.respond_to?(name) || super
    end
  end

  # Field references: "a", "[a]", "[a][b]", "[a][0]".
  module FieldRef
    CACHE = {}

    def self.parse(ref)
      ref = ref.to_s
      CACHE[ref] ||= begin
        if ref.start_with?('[')
          parts = ref.scan(/\[([^\[\]]+)\]/).flatten
          raise ArgumentError, "Invalid FieldReference: `#{ref}`" if parts.empty? || parts.map { |p| "[#{p}]" }.join != ref
          parts.freeze
        else
          [ref].freeze
        end
      end
    end
  end

  class Event
    TIMESTAMP = '@timestamp'.freeze
    METADATA = '@metadata'.freeze

    def initialize(data = {})
      @data = {}
      (data || {}).each { |k, v| @data[k.to_s] = Event.normalize(v) }
      stamp = @data[TIMESTAMP]
      @data[TIMESTAMP] = stamp.nil? ? Timestamp.now : (Timestamp.coerce(stamp) || stamp)
      @cancelled = false
    end

    # Values as Logstash stores them: string keys, Time → Timestamp, symbols → strings, copies.
    def self.normalize(value)
      case value
      when Hash then value.each_with_object({}) { |(k, v), h| h[k.to_s] = normalize(v) }
      when Array then value.map { |v| normalize(v) }
      when Time, DateTime then Timestamp.new(value)
      when Symbol then value.to_s
      when String then value.dup
      when Timestamp, Integer, Float, true, false, nil then value
      when Rational then value.to_f
      else
        value.respond_to?(:to_f) && value.is_a?(Numeric) ? value.to_f : value.to_s
      end
    end

    def self.deep_copy(value)
      case value
      when Hash then value.each_with_object({}) { |(k, v), h| h[k] = deep_copy(v) }
      when Array then value.map { |v| deep_copy(v) }
      when String then value.dup
      else value
      end
    end

    def self.from_wire(record)
      event = allocate
      event.instance_variable_set(:@data, record['d'])
      event.instance_variable_set(:@cancelled, false)
      event.data[TIMESTAMP] = Timestamp.from_millis(record['t']) if record['t']
      event
    end

    def data = @data

    def get(ref)
      Event.deep_copy(dig(FieldRef.parse(ref)))
    end

    def set(ref, value)
      path = FieldRef.parse(ref)
      value = Event.normalize(value)
      if path == [TIMESTAMP]
        stamp = Timestamp.coerce(value)
        raise TypeError, "wrong argument type #{value.class} (expected LogStash::Timestamp)" unless stamp

        value = stamp
      end
      parent = @data
      path[0..-2].each do |key|
        child = container_get(parent, key)
        unless child.is_a?(Hash) || child.is_a?(Array)
          child = {}
          container_set(parent, key, child)
        end
        parent = child
      end
      container_set(parent, path[-1], value)
      value
    end

    def remove(ref)
      path = FieldRef.parse(ref)
      parent = path.length == 1 ? @data : dig(path[0..-2])
      case parent
      when Hash then parent.delete(path[-1])
      when Array then index?(path[-1]) && parent.length > path[-1].to_i.abs ? parent.delete_at(path[-1].to_i) : nil
      end
    end

    def include?(ref)
      path = FieldRef.parse(ref)
      parent = path.length == 1 ? @data : dig(path[0..-2])
      case parent
      when Hash then parent.key?(path[-1])
      when Array then index?(path[-1]) && path[-1].to_i < parent.length && path[-1].to_i >= -parent.length
      else false
      end
    end

    # The pre-5.0 API, still found in old configs.
    def [](ref) = get(ref)
    def []=(ref, value)
      set(ref, value)
    end

    def tag(name)
      tags = @data['tags']
      tags = @data['tags'] = [] if tags.nil?
      tags = @data['tags'] = [tags] unless tags.is_a?(Array)
      tags << name.to_s unless tags.include?(name.to_s)
    end

    def cancel = (@cancelled = true)
    def uncancel = (@cancelled = false)
    def cancelled? = @cancelled
    def cancelled = @cancelled

    def timestamp = @data[TIMESTAMP]
    def timestamp=(value)
      set(TIMESTAMP, value)
    end

    def clone
      Event.from_copy(Event.deep_copy(@data))
    end
    alias dup clone

    def self.from_copy(data)
      event = allocate
      event.instance_variable_set(:@data, data)
      event.instance_variable_set(:@cancelled, false)
      event
    end

    def to_hash
      hash = Event.deep_copy(@data)
      hash.delete(METADATA)
      hash
    end
    alias to_h to_hash

    def to_hash_with_metadata = Event.deep_copy(@data)

    def to_json(*args) = Event.plain(to_hash).to_json(*args)

    def to_s
      "#{timestamp} #{get('[host][name]') || get('host')} #{get('message')}"
    end

    def append(other)
      other.to_hash.each { |k, v| set(k, v) unless k == TIMESTAMP }
      self
    end

    # sprintf: %{[a][b]}, %{a}, %{+YYYY.MM.dd} (Joda style on @timestamp), %{+%s} (epoch seconds).
    def sprintf(format)
      format.to_s.gsub(/%\{([^}]+)\}/) do
        key = Regexp.last_match(1)
        if key.start_with?('+')
          Event.joda(timestamp, key[1..])
        else
          value = get(key)
          value.nil? ? "%{#{key}}" : Event.to_text(value)
        end
      end
    end

    def self.to_text(value)
      case value
      when Hash, Array then Event.plain(value).to_json
      else value.to_s
      end
    end

    JODA = {
      'yyyy' => '%Y', 'YYYY' => '%Y', 'yy' => '%y', 'xxxx' => '%G', 'ww' => '%V', 'MMMM' => '%B', 'MMM' => '%b',
      'MM' => '%m', 'dd' => '%d', 'HH' => '%H', 'hh' => '%I', 'mm' => '%M', 'ss' => '%S', 'SSS' => '%L',
      'EEE' => '%a', 'EEEE' => '%A', 'a' => '%p', 'Z' => '%z', 'ZZ' => '%:z', 'D' => '%j'
    }.freeze
    JODA_TOKEN = Regexp.union(JODA.keys.sort_by { |k| -k.length })

    def self.joda(stamp, format)
      time = stamp.is_a?(Timestamp) ? stamp.time : Time.now.utc
      return time.to_i.to_s if format == '%s'

      time.strftime(format.gsub(/'([^']*)'|(#{JODA_TOKEN})|%/) { |m| Regexp.last_match(1) || JODA[m] || '%%' })
    end

    # Plain JSON-ready values: Timestamps as ISO8601, bad UTF-8 scrubbed, non-finite floats as nil.
    def self.plain(value)
      case value
      when Hash then value.each_with_object({}) { |(k, v), h| h[k.to_s] = plain(v) }
      when Array then value.map { |v| plain(v) }
      when Timestamp then value.to_iso8601
      when String then value.valid_encoding? ? value : value.dup.force_encoding('UTF-8').scrub
      when Float then value.finite? ? value : nil
      when Integer, true, false, nil then value
      else plain(normalize(value))
      end
    end

    def to_wire
      data = @data.dup
      stamp = data.delete(TIMESTAMP)
      wire = { 'd' => Event.plain(data), 'c' => @cancelled }
      if stamp.is_a?(Timestamp)
        wire['t'] = stamp.millis
      elsif !stamp.nil?
        wire['d'][TIMESTAMP] = Event.plain(stamp)
      end
      wire
    end

    private

    def index?(key) = key.match?(/\A-?\d+\z/)

    def dig(path)
      path.reduce(@data) do |current, key|
        case current
        when Hash then current[key]
        when Array then index?(key) ? current[key.to_i] : (return nil)
        else return nil
        end
      end
    end

    def container_get(container, key)
      container.is_a?(Array) ? (index?(key) ? container[key.to_i] : nil) : container[key]
    end

    def container_set(container, key, value)
      if container.is_a?(Array)
        raise ArgumentError, "cannot set [#{key}] in an array" unless index?(key)

        container[key.to_i] = value
      else
        container[key] = value
      end
    end
  end

  module Filters; end
end

# The object user code runs in: init's instance variables are visible in code, as in Logstash.
class RubyFilterContext
  def initialize(logger, tag, tag_with_message)
    @logger = logger
    @tag_on_exception = tag
    @tag_with_exception_message = tag_with_message
  end

  attr_reader :logger

  def setup_inline(init, code)
    instance_eval(init, '(ruby filter init)', 1) if init
    instance_eval("@codeblock = lambda { |event, &new_event_block| #{code}\n }", '(ruby filter code)', 0)
  end

  # The file form: the script defines register(params) and filter(event); test blocks are skipped.
  def setup_file(path, params)
    @skipped_tests = []
    instance_eval(File.read(path), path, 1)
    @logger.warn("ruby script #{path}: #{@skipped_tests.length} inline test block(s) are not run by this pipeline") unless @skipped_tests.empty?
    register(params) if respond_to?(:register)
    raise LogStash::Error, "ruby script #{path} does not define filter(event)" unless respond_to?(:filter)
  end

  # The aggregate filter: code sees `event` and `map`; maps travel as Marshal blobs (base64) so that
  # whatever the code stores in them (symbol keys, Time, Set) survives between events.
  def setup_aggregate(code, timeout_code)
    instance_eval("@codeblock = lambda { |event, map, &new_event_block| #{code}\n }", '(aggregate filter code)', 0)
    return unless timeout_code

    instance_eval("@timeout_codeblock = lambda { |event| #{timeout_code}\n }", '(aggregate filter timeout code)', 0)
  end

  def self.load_map(blob)
    blob ? Marshal.load(blob.unpack1('m0')) : {} # rubocop:disable Security/MarshalLoad -- our own blobs
  end

  def self.dump_map(map)
    [Marshal.dump(map)].pack('m0')
  end

  def run_aggregate(event, record, emitted)
    map = {}
    error = begin
      map = RubyFilterContext.load_map(record['m'])
      @codeblock.call(event, map) { |e| emitted << e }
      nil
    rescue Exception => e # rubocop:disable Lint/RescueException
      tag_exception(event, e)
    end
    [error, RubyFilterContext.dump_map(map)]
  end

  # A map pushed as an event (on timeout, or when the next task starts): timeout fields, tags and code.
  def push_map(record, emitted)
    begin
      event = LogStash::Event.new(RubyFilterContext.load_map(record['m']))
    rescue StandardError => e
      return "cannot read the map of task #{record['task']}: #{e.class}: #{e.message}"
    end
    event.set(record['task_field'], record['task']) if record['task_field']
    (record['tags'] || []).each { |t| event.tag(t) }
    error = nil
    begin
      @timeout_codeblock&.call(event)
    rescue Exception => e # rubocop:disable Lint/RescueException
      error = tag_exception(event, e)
    end
    emitted << event
    error
  end

  def test(name = nil, &_block)
    @skipped_tests << name
  end

  def run_inline(event, emitted)
    @codeblock.call(event) { |e| emitted << e }
    nil
  rescue Exception => e # rubocop:disable Lint/RescueException -- as Logstash: any error tags the event
    tag_exception(event, e)
  end

  def run_file(event, emitted)
    results = filter(event)
    unless results.is_a?(Array) && results.all? { |r| r.is_a?(LogStash::Event) }
      raise LogStash::Error, "Custom script did not return an array of events from 'filter' (got #{results.inspect[0, 100]})"
    end

    kept = false
    results.each { |r| r.equal?(event) ? (kept = true) : emitted << r }
    event.cancel unless kept
    nil
  rescue Exception => e # rubocop:disable Lint/RescueException
    tag_exception(event, e)
  end

  def tag_exception(event, error)
    event.tag(@tag_on_exception)
    event.tag("#{@tag_on_exception}: #{error.message}"[0, 255]) if @tag_with_exception_message
    "#{error.class}: #{error.message}"
  end
end

def reply(message)
  PROTO_OUT.write(JSON.generate(message))
  PROTO_OUT.write("\n")
end

logger = LogStash::Logger.new
setup = JSON.parse(PROTO_IN.gets || exit)
context = RubyFilterContext.new(logger, setup['tag_on_exception'], setup['tag_with_exception_message'])
begin
  if setup['mode'] == 'aggregate'
    context.setup_aggregate(setup['code'], setup['timeout_code'])
  elsif setup['path']
    context.setup_file(setup['path'], setup['script_params'] || {})
  else
    context.setup_inline(setup['init'], setup['code'])
  end
  reply({ 'ok' => true, 'logs' => logger.drain })
rescue Exception => e # rubocop:disable Lint/RescueException
  reply({ 'ok' => false, 'error' => "#{e.class}: #{e.message}", 'logs' => logger.drain })
  exit 1
end

file_form = !setup['path'].nil?
aggregate = setup['mode'] == 'aggregate'
while (line = PROTO_IN.gets)
  batch = JSON.parse(line)
  results = batch['events'].map do |record|
    emitted = []
    if aggregate && record['op'] == 'push'
      error = context.push_map(record, emitted)
      next({ 'e' => error, 'n' => emitted.map(&:to_wire) })
    end
    event = LogStash::Event.from_wire(record)
    map_blob = nil
    if aggregate
      error, map_blob = context.run_aggregate(event, record, emitted)
    else
      error = file_form ? context.run_file(event, emitted) : context.run_inline(event, emitted)
    end
    wire = event.to_wire
    wire['e'] = error
    wire['m'] = map_blob if map_blob
    wire['n'] = emitted.map(&:to_wire) unless emitted.empty?
    wire
  end
  reply({ 'results' => results, 'logs' => logger.drain })
end
