/**
 * Implementation classes that must be public to be shared between outboxkit packages. Not API: no
 * compatibility promise; do not use them from applications.
 */
package io.outboxkit.internal;
