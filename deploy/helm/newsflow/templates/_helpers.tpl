{{/* Names and labels. */}}
{{- define "newsflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "newsflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "newsflow.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "newsflow.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The name of one component's objects: (list $ "entities"). */}}
{{- define "newsflow.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "newsflow.fullname" $root | trunc 40 | trimSuffix "-") (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "newsflow.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "newsflow.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "newsflow.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{ include "newsflow.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: newsflow
{{- end }}

{{- define "newsflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "newsflow.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-secrets" (include "newsflow.fullname" .)) }}
{{- end }}

{{/* NEWSFLOW_NAMESPACE applied to a topic or group name: (list $ "articles.raw"). */}}
{{- define "newsflow.prefixed" -}}
{{- printf "%s%s" (index . 0).Values.namespacePrefix (index . 1) }}
{{- end }}

{{/*
The environment every Newsflow container shares: where the servers are, the
namespace prefix, the log level, then the global `env`, then the component's
own `env` (a later entry of the same name wins in Kubernetes, so the
component's overrides the global one). URLs with credentials come from the
Secret by reference. Call with (list $ componentEnvMap).
*/}}
{{- define "newsflow.env" -}}
{{- $root := index . 0 }}
{{- $v := $root.Values -}}
- name: NEWSFLOW_KAFKA_BOOTSTRAP
  value: {{ $v.kafka.bootstrap | quote }}
{{- if $v.elasticsearch.urlFromSecret }}
- name: NEWSFLOW_ELASTICSEARCH_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "newsflow.secretName" $root }}
      key: {{ $v.secret.keys.elasticsearchUrl }}
{{- else }}
- name: NEWSFLOW_ELASTICSEARCH_URL
  value: {{ $v.elasticsearch.url | quote }}
{{- end }}
{{- if $v.redis.urlFromSecret }}
- name: NEWSFLOW_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "newsflow.secretName" $root }}
      key: {{ $v.secret.keys.redisUrl }}
{{- else }}
- name: NEWSFLOW_REDIS_URL
  value: {{ $v.redis.url | quote }}
{{- end }}
- name: NEWSFLOW_NAMESPACE
  value: {{ $v.namespacePrefix | quote }}
- name: NEWSFLOW_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
{{- range $name, $value := $v.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $value := (index . 1) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
Probes on a port: (list $ port mode). mode "http": kubelet's httpGet on the pod
IP; "exec": curl inside the container on 127.0.0.1, for a server that binds
only the loopback (the stream workers' today).
*/}}
{{- define "newsflow.probes" -}}
{{- $root := index . 0 }}
{{- $port := index . 1 }}
{{- $mode := index . 2 }}
{{- range $kind := list "startup" "liveness" "readiness" }}
{{- $path := ternary "/readyz" "/healthz" (eq $kind "readiness") }}
{{- $p := index $root.Values.probes $kind }}
{{ $kind }}Probe:
  {{- if eq $mode "exec" }}
  exec:
    command: [curl, -fsS, -o, /dev/null, --max-time, {{ $p.timeoutSeconds | quote }}, {{ printf "http://127.0.0.1:%v%s" $port $path | quote }}]
  {{- else }}
  httpGet:
    path: {{ $path }}
    port: {{ $port }}
  {{- end }}
  periodSeconds: {{ $p.periodSeconds }}
  timeoutSeconds: {{ $p.timeoutSeconds }}
  failureThreshold: {{ $p.failureThreshold }}
{{- end }}
{{- end }}

{{/* Pod-level settings every Newsflow pod shares. */}}
{{- define "newsflow.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
# Newsflow never calls the Kubernetes API.
automountServiceAccountToken: false
# No *_SERVICE_HOST/_PORT variables: a Service named newsflow-search would
# otherwise inject NEWSFLOW_SEARCH_PORT=tcp://..., which the settings read.
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{/* Pod metadata: (list $ component extraAnnotations). */}}
{{- define "newsflow.podMeta" -}}
{{- $root := index . 0 -}}
labels:
  {{- include "newsflow.selectorLabels" (list $root (index . 1)) | nindent 2 }}
  {{- with $root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $ann := merge (dict) (index . 2) $root.Values.podAnnotations }}
{{- with $ann }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* What every Newsflow container shares. */}}
{{- define "newsflow.containerCommon" -}}
image: {{ include "newsflow.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/*
One stage's settings: stageDefaults, overridden key by key by the stage's own
entry (and `autoscaling`/`pdb` key by key one level down), as JSON; call with
(list $ name entry) and read with fromJson. Written out instead of with
mergeOverwrite, which would let a default `true` win over a stage's `false`.
*/}}
{{- define "newsflow.stageConfig" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $own := index . 2 | default dict }}
{{- $defaults := $root.Values.stageDefaults }}
{{- $out := dict }}
{{- range $k, $v := $defaults }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- range $k, $v := $own }}
{{- if and (has $k (list "autoscaling" "pdb")) (kindIs "map" $v) }}
{{- $nested := dict }}
{{- range $k2, $v2 := (get $defaults $k | default dict) }}
{{- $_ := set $nested $k2 $v2 }}
{{- end }}
{{- range $k2, $v2 := $v }}
{{- $_ := set $nested $k2 $v2 }}
{{- end }}
{{- $_ := set $out $k $nested }}
{{- else }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- end }}
{{- $_ := set $out "name" $name }}
{{- if not (hasKey $out "consumerGroup") }}
{{- $_ := set $out "consumerGroup" (printf "newsflow-%s" $name) }}
{{- end }}
{{- if not (get $out "inputTopic") }}
{{- fail (printf "stages.%s.inputTopic is required" $name) }}
{{- end }}
{{- if not (get $out "webPort") }}
{{- fail (printf "stages.%s.webPort is required" $name) }}
{{- end }}
{{- toJson $out }}
{{- end }}
