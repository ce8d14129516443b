/**
 * Chat templates for the scanner tests, written for this project (not copied from any model repo).
 * BENIGN_TEMPLATES use the features real templates use: namespace() state, tools | tojson,
 * loop.last, raise_exception, message['role'] and message.content, add_generation_prompt,
 * macros, slicing, selectattr/map, tests, whitespace control and {% generation %}.
 * MALICIOUS_TEMPLATES each carry one escape or abuse technique, with the rule it must trigger.
 */

/** ChatML-style with a system prompt and tool calls. */
export const CHATML_TOOLS = `{%- set ns = namespace(system_prompt='', has_tools=false) -%}
{%- if tools is defined and tools -%}{%- set ns.has_tools = true -%}{%- endif -%}
{%- if messages and messages[0]['role'] == 'system' -%}
  {%- set ns.system_prompt = messages[0]['content'] -%}
  {%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set loop_messages = messages -%}
{%- endif -%}
{{- bos_token if bos_token is defined else '' -}}
{%- if ns.system_prompt or ns.has_tools -%}
<|im_start|>system
{{ ns.system_prompt | trim }}
{%- if ns.has_tools %}

You may call the tools below. Reply with a JSON object inside <tool_call></tool_call> tags.
<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools>
{%- endif %}<|im_end|>
{% endif -%}
{%- for message in loop_messages -%}
  {%- if message['role'] not in ['user', 'assistant', 'tool'] -%}
    {{- raise_exception('Roles must be user, assistant or tool, got ' ~ message['role']) -}}
  {%- endif -%}
  {%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}
<|im_start|>assistant
{%- if message.content %}
{{ message.content | trim }}
{%- endif %}
{%- for call in message.tool_calls %}
{%- set fn = call.function if call.function is defined else call %}
<tool_call>
{"name": {{ fn.name | tojson }}, "arguments": {{ fn.arguments | tojson if fn.arguments is not string else fn.arguments }}}
</tool_call>
{%- endfor %}<|im_end|>
{% elif message['role'] == 'tool' -%}
<|im_start|>user
<tool_response>
{{ message['content'] }}
</tool_response><|im_end|>
{% else -%}
<|im_start|>{{ message['role'] }}
{{ message['content'] | trim }}<|im_end|>
{% endif -%}
{%- if loop.last and message['role'] == 'assistant' and add_generation_prompt -%}
{{- raise_exception('The last message is already an assistant turn') -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|im_start|>assistant
{% endif -%}`;

/** Header-style turns, list contents, a macro, a date, and {% generation %} (transformers' extension). */
export const HEADER_TURNS = `{%- macro render_content(content) -%}
  {%- if content is string -%}{{ content | trim }}
  {%- else -%}{{ content | selectattr('type', 'equalto', 'text') | map(attribute='text') | join('\\n') }}
  {%- endif -%}
{%- endmacro -%}
{%- set date_string = strftime_now('%d %b %Y') if strftime_now is defined else '01 Jan 2025' -%}
{{- bos_token -}}
{%- for message in messages -%}
  {%- if loop.first and message.role != 'system' -%}
<|start_header_id|>system<|end_header_id|>

Today is {{ date_string }}.<|eot_id|>
  {%- endif -%}
<|start_header_id|>{{ message.role }}<|end_header_id|>

{% if message.role == 'assistant' -%}
{%- generation -%}{{ render_content(message.content) }}<|eot_id|>{%- endgeneration -%}
{%- else -%}
{{ render_content(message.content) }}<|eot_id|>
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}<|start_header_id|>assistant<|end_header_id|>

{% endif -%}`;

/** Alternating [INST] turns with a check on the order and a first-user system prefix. */
export const INST_TURNS = `{%- if messages[0].role == 'system' -%}
  {%- set system_message = messages[0].content -%}
  {%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set system_message = none -%}
  {%- set loop_messages = messages -%}
{%- endif -%}
{{ bos_token }}
{%- for message in loop_messages -%}
  {%- if (message.role == 'user') != (loop.index0 % 2 == 0) -%}
    {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
  {%- endif -%}
  {%- if message.role == 'user' -%}
    {%- if loop.first and system_message is not none -%}
      {{ '[INST] ' + system_message + '\\n\\n' + message.content | trim + ' [/INST]' }}
    {%- else -%}
      {{ '[INST] ' + message.content | trim + ' [/INST]' }}
    {%- endif -%}
  {%- elif message.role == 'assistant' -%}
    {{ ' ' + message.content | trim + eos_token }}
  {%- else -%}
    {{ raise_exception('Only user and assistant roles are supported') }}
  {%- endif -%}
{%- endfor -%}`;

/** Turn markers with a dict of role names, a counter in a namespace and a length check. */
export const TURN_MARKERS = `{#- A compact template with a role map. -#}
{%- set roles = {'user': 'user', 'assistant': 'model', 'system': 'user'} -%}
{%- set state = namespace(count=0, prefix='') -%}
{%- if messages | length == 0 -%}{{ raise_exception('No messages') }}{%- endif -%}
{%- for message in messages -%}
{%- set role = roles[message['role']] if message['role'] in roles else message['role'] -%}
{%- set state.count = state.count + 1 -%}
<start_of_turn>{{ role }}
{{ (message['content'] if message['content'] is string else message['content'][0]['text']) | trim }}<end_of_turn>
{% endfor -%}
{%- if add_generation_prompt and state.count > 0 %}<start_of_turn>model
{% endif -%}
{%- raw %}{{ literal braces in a raw block }}{% endraw %}`;

/** Not a chat template: one line per Jinja construct the parser must accept without a finding. */
export const SYNTAX_TOUR = String.raw`{%- if not loop_messages is defined %}{% endif -%}
{{ message['content'] | tojson }}{% for key, value in tool.parameters.properties | dictsort %}{{ key }}{% endfor %}
{{ tool.description | default('') }}{% if x is mapping %}{% endif %}
{% set content = message.content if message.content is string else message.content | map(attribute='text') | join('') %}
{{- '\n' }}{%- set ns.found = ns.found or (m.role == 'system') -%}
{{ (messages|selectattr('role', 'equalto', 'system')|list|last).content|trim }}
{% if tools is not none %}{% endif %}{{ "%02d" | format(5) }}{{ x[::-1] }}{{ x[1:] }}{{ x[:-1] }}
{% for i in range(messages|length - 1, -1, -1) %}{% endfor %}{%- set last_query_index = messages|length - 1 -%}
{{ message.reasoning_content.strip('\n').split('\n')[-1] }}{{ strftime_now("%Y-%m-%d") }}
{{ {'a': {'b': [1, 2,]}, }|tojson(indent=4) }}{{ x if x else y }}{% set a, b = 1, 2 %}
{% macro tool_call(name, args={}) -%}{{ name }}{%- endmacro %}
{% call(item) render_list(items) %}{{ item }}{% endcall %}{% with foo = 42, bar = 'x' %}{{ foo }}{% endwith %}
{% filter upper %}hi{% endfilter %}{% set x %}block{% endset %}{% set y | trim %} y {% endset %}
{{ -1 }}{{ not x }}{{ a in b }}{{ a not in b }}{{ x is not defined }}{{ x is divisibleby 3 }}{{ x is sameas false }}
{{ 1 < 2 < 3 }}{{ "a" "b" }}{{ x|selectattr("a")|list }}{% for x in y recursive %}{{ loop(x.children) }}{{ loop.depth }}{% endfor %}
{% for m in messages %}{% if m %}{% break %}{% else %}{% continue %}{% endif %}{% endfor %}{{ 1e3 }}{{ 0x10 }}{{ 1_000 }}{{ 1.5 }}
{% if a %}{% elif b %}{% else %}{% endif %}{{ tools[0]['function']['name'] }}{{ x.y.z() }}{{ f(*args, **kwargs) }}
{{ x|replace('a', 'b')|lower }}{{ "It's" }}{{ 'say "hi"' }}{{ x ~ y ~ '!' }}{{ a // b }}{{ a % 2 }}{{ 2 ** 8 }}{{ (a, b) }}{{ () }}
{{ x is string and x | length > 0 }}{{ message.content is not string }}{%- generation %}{% endgeneration %}
{% for tool in tools if tool.type == 'function' %}{{ loop.index }}{% endfor %}{{ raise_exception("bad") if x }}
{{ x | items | list }}{{ x.items() | list }}{{ messages[-1].role }}{{ '_' }}{{ 'snake_case_name' }}{{ name | replace(' ', '_') }}`;

export const BENIGN_TEMPLATES: Record<string, string> = { CHATML_TOOLS, HEADER_TURNS, INST_TURNS, TURN_MARKERS };

/** [template, the rule it must trigger, the severity it must reach]. */
export const MALICIOUS_TEMPLATES: [string, string, 'dangerous' | 'suspicious' | 'low'][] = [
  ["{{ ''.__class__.__mro__[1].__subclasses__() }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ cycler.__init__.__globals__.os.popen('id').read() }}", 'TEMPLATE_DANGEROUS_CALL', 'dangerous'],
  ["{{ namespace.__init__.__globals__['__builtins__']['eval']('1') }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ messages|attr('__class__') }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ messages['__cl' ~ 'ass__'] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ messages[['_', '_', 'class', '_', '_'] | join] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{% set u = '_' * 2 %}{{ (u ~ 'class' ~ u) }}", 'TEMPLATE_DUNDER_STRING', 'suspicious'],
  ["{{ messages|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x|attr('%c%cclass%c%c' % (95, 95, 95, 95)) }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x|attr('{}{}globals{}{}'.format('_', '_', '_', '_')) }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ '{0.__class__}'.format(messages) }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x|attr(name) }}", 'TEMPLATE_DUNDER_STRING', 'suspicious'],
  ["{{ messages|map(attribute='__class__')|list }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ lipsum }}", 'TEMPLATE_GADGET', 'suspicious'],
  ["{{ self }}", 'TEMPLATE_GADGET', 'suspicious'],
  ["{{ joiner() }}", 'TEMPLATE_GADGET', 'suspicious'],
  ["{{ config.items() }}", 'TEMPLATE_GADGET', 'suspicious'],
  ["{{ x.gi_frame.f_back.f_globals }}", 'TEMPLATE_DANGEROUS_CALL', 'dangerous'],
  ["{{ open('/etc/passwd').read() }}", 'TEMPLATE_DANGEROUS_CALL', 'dangerous'],
  ["{{ x.system('id') }}", 'TEMPLATE_DANGEROUS_CALL', 'dangerous'],
  ["{{ x._private }}", 'TEMPLATE_DUNDER_ACCESS', 'suspicious'],
  ["{% include 'other.jinja' %}", 'TEMPLATE_INCLUDE', 'suspicious'],
  ["{% for i in range(100000000) %}{{ i }}{% endfor %}", 'TEMPLATE_DOS', 'suspicious'],
  ["{{ 'A' * 1000000000 }}", 'TEMPLATE_DOS', 'suspicious'],
  ["{{ 9 ** 999999999 }}", 'TEMPLATE_DOS', 'suspicious'],
  [
    '{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{{ a }}{% endfor %}{% endfor %}{% endfor %}',
    'TEMPLATE_DOS',
    'suspicious',
  ],
  ['{% for a in x %}{% for b in a %}{% for c in b %}{% for d in c %}{{ d }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}', 'TEMPLATE_DOS', 'low'],
  ['{{ messages[0] ', 'TEMPLATE_UNPARSEABLE', 'suspicious'],
  ['{{ messages[0] + }}', 'TEMPLATE_UNPARSEABLE', 'suspicious'],
  ["{{ x['__globals__'] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x['_' '_class_' '_'] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x[('__ssalc__')[::-1]] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x|attr('__class__'|lower) }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{% set f = x.__class__ %}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{% macro m(a=x.__class__) %}{% endmacro %}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ __builtins__ }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{{ x|attr('popen') }}", 'TEMPLATE_DANGEROUS_CALL', 'dangerous'],
  ["{% set u = '_' %}{{ x[u ~ u ~ 'class' ~ u ~ u] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{% set ns = namespace(u='_') %}{% set ns.u = '_' * 2 %}{{ x|attr(ns.u ~ 'globals' ~ ns.u) }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
  ["{% set n = '__cla' ~ 'ss__' %}{{ x[n] }}", 'TEMPLATE_DUNDER_ACCESS', 'dangerous'],
];
