package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;

/**
 * One page of the fleet listing.
 *
 * @param total hosts matching the filters, over all pages
 * @param offset index of the first host on this page
 * @param limit page size asked for
 * @param nextOffset the offset of the next page; absent on the last
 * @param sort the sort key applied
 * @param order the direction applied
 * @param statusCounts hosts per status over the whole fleet, before filters
 * @param hosts this page
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Fleet(
    int total,
    int offset,
    int limit,
    Integer nextOffset,
    String sort,
    String order,
    Map<String, Integer> statusCounts,
    List<HostSummary> hosts) {}
