package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The body of every error the API answers: Dropwizard's {@code {code, message}}, plus the parameter
 * at fault and the values it accepts when the request got one wrong.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ApiError(int code, String message, String parameter, List<String> allowed) {}
